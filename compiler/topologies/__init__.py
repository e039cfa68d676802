"""Topologies: each turns one Deployment into one CloudFormation template (pure, deterministic)."""

from __future__ import annotations

from collections.abc import Callable

from troposphere import Template

from ..model import Deployment, ImageRepository
from . import alb, nat_instance, websocket
from .image_repository import build as build_repository

TOPOLOGIES: dict[str, Callable[[Deployment, ImageRepository], Template]] = {
    "alb": alb.build,
    "nat-instance": nat_instance.build,
    "websocket": websocket.build,
}

__all__ = ["TOPOLOGIES", "build_repository"]
