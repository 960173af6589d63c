"""Attacks by name, with their defaults, as the command line and grid files ask for them."""

from __future__ import annotations

from fragility.attacks.core import Attack
from fragility.attacks.cw import CarliniWagnerL2
from fragility.attacks.deepfool import DeepFool
from fragility.attacks.ensemble import WorstOf
from fragility.attacks.gradient import PGD, fgsm
from fragility.errors import ConfigError

ATTACKS = ("fgsm", "pgd", "cw", "deepfool", "ensemble")
NORMS = ("linf", "l2")
DEFAULT_EPS = {"linf": (0.05, 0.1, 0.2, 0.3), "l2": (0.25, 0.5, 1.0, 2.0)}


def default_norm(name: str) -> str:
    """cw is an L2 attack; every other attack defaults to Linf."""
    return "l2" if name == "cw" else "linf"


def build_attack(name: str, norm: str, steps: int | None, targeted: bool) -> Attack:
    """The attack `name` under `norm` with `steps` iterations (None: the attack's default);
    `ensemble` is the worst case over every attack that fits the norm and aim."""
    if name not in ATTACKS:
        raise ConfigError(f"unknown attack {name!r}; choose one of {', '.join(ATTACKS)}")
    if name == "cw" and norm != "l2":
        raise ConfigError("cw is an L2 attack; use --norm l2 or leave --norm out")
    if name == "deepfool" and targeted:
        raise ConfigError("deepfool is untargeted; drop --targeted or choose pgd or cw")
    pgd = PGD(norm=norm, steps=steps or 40)
    deepfool = DeepFool(norm=norm, steps=steps or 50)
    if name == "fgsm":
        return fgsm(norm)
    if name == "pgd":
        return pgd
    if name == "cw":
        return CarliniWagnerL2(steps=steps or 100)
    if name == "deepfool":
        return deepfool
    members: list[Attack] = [fgsm(norm), pgd] + ([] if targeted else [deepfool])
    if norm == "l2":
        members.append(CarliniWagnerL2(steps=steps or 100))
    return WorstOf(tuple(members))
