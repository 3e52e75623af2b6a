"""Base classes shared by the wire models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ResponseModel(BaseModel):
    """A model the server sends: unknown fields are ignored so that newer servers do not break us."""

    model_config = ConfigDict(extra="ignore", ser_json_inf_nan="constants")


class RequestModel(BaseModel):
    """A model the client sends: unknown fields are an error, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")
