"""The JSON API's request and response shapes; the OpenAPI document is built from them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from patchwork.models import OrganisationType


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=4000)


class TokenRequest(Strict):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)
    totp: str | None = Field(default=None, max_length=32)


class TokenResponse(BaseModel):
    token: str
    expires_at: str


class OrganisationOut(BaseModel):
    id: str
    name: str
    type: OrganisationType
    active: bool = True


class MeResponse(BaseModel):
    id: str
    email: str
    name: str
    kind: Literal["practitioner", "family", "admin"]
    organisation: OrganisationOut | None
    roles: list[str]
    second_factor: bool


class OrganisationCreate(Strict):
    name: str = Field(max_length=200)
    type: OrganisationType


class OrganisationList(BaseModel):
    organisations: list[OrganisationOut]


class UserCreate(Strict):
    email: str = Field(max_length=254)
    name: str = Field(max_length=200)
    organisation_id: str = Field(max_length=36)
    password: str = Field(max_length=256)
    role: Literal["practitioner", "org_admin"] = "practitioner"
    job_title: str = Field(default="", max_length=200)


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    kind: Literal["practitioner", "family", "admin"]
    organisation_id: str | None
    roles: list[str]
    status: Literal["pending", "active", "refused", "deactivated"]


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str
    checks: dict[str, str] | None = None
