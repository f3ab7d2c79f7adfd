"""Settings dataclasses shared by several stages, and their named presets.

Settings are plain frozen dataclasses with a documented field each; ``to_dict`` /
``from_dict`` round-trip them through JSON. Presets are data (a dict of instances), not code
paths. Method-specific settings live beside their method (e.g. ``partlift.lifting.voting``) and
follow the same pattern.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

from partlift.errors import InputError

T = TypeVar("T")
S = TypeVar("S", bound="Settings")


class Settings:
    """The one settings form (STYLE "one settings form"): a base for frozen settings dataclasses.

    Subclasses are ``@dataclass(frozen=True)`` and validate in ``__post_init__``; the base adds
    :meth:`replace` (unknown keys rejected with the valid ones, lists become tuples, the copy is
    validated again), :meth:`to_dict` / :meth:`from_dict` (JSON round trip, unknown keys rejected)
    and :meth:`keys` (the valid field names, sorted).
    """

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The setting names of this class, sorted."""
        return tuple(sorted(f.name for f in dataclasses.fields(cls)))  # type: ignore[arg-type]

    @classmethod
    def check_keys(cls, keys: Any, what: str | None = None) -> None:
        """Raise :class:`InputError` naming the valid keys when ``keys`` holds an unknown one."""
        unknown = sorted(set(keys) - set(cls.keys()))
        if unknown:
            raise InputError(
                f"{what or cls.__name__}: unknown setting(s) {unknown}; valid ones are {list(cls.keys())}"
            )

    def replace(self: S, **changes: Any) -> S:
        """A copy with some fields changed (validated again); unknown names are an error."""
        type(self).check_keys(changes)
        return dataclasses.replace(self, **{k: _tuplify(v) for k, v in changes.items()})  # type: ignore[type-var]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return to_dict(self)

    @classmethod
    def from_dict(cls: type[S], data: dict[str, Any]) -> S:
        """Inverse of :meth:`to_dict`; unknown keys are an error naming the valid ones."""
        return from_dict(cls, data)


# METHODS §1.2: the 10 (elevation, azimuth) pairs of PartSLIP's camera rig, in view order.
PARTSLIP_VIEWS: tuple[tuple[float, float], ...] = (
    (10.0, 0.0),
    (10.0, 90.0),
    (10.0, 180.0),
    (10.0, 270.0),
    (40.0, 0.0),
    (40.0, 120.0),
    (40.0, 240.0),
    (-20.0, 60.0),
    (-20.0, 180.0),
    (-20.0, 300.0),
)


@dataclass(frozen=True)
class RenderConfig(Settings):
    """Camera rig and rasteriser settings (METHODS §1.2).

    Attributes:
        views: (elevation, azimuth) in degrees per view; azimuth 0 looks from +Z, +Y is up.
        distance: camera distance from the origin, unit-sphere frame.
        fov: vertical field of view in degrees (square images).
        image_size: image height = width, in pixels.
        point_radius: splat radius in NDC units (NDC spans [-1, 1] across the image), constant
            in screen space (it does not shrink with depth).
        znear: points nearer than this to the camera plane are not drawn.
        background: RGB in [0, 1] of empty pixels.
    """

    views: tuple[tuple[float, float], ...] = PARTSLIP_VIEWS
    distance: float = 2.2
    fov: float = 60.0
    image_size: int = 800
    point_radius: float = 0.005
    znear: float = 0.01
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        if not self.views:
            raise InputError("RenderConfig.views: expected at least one (elevation, azimuth) pair")
        if self.image_size < 1:
            raise InputError(f"RenderConfig.image_size: expected >= 1, got {self.image_size}")
        if self.point_radius <= 0:
            raise InputError(f"RenderConfig.point_radius: expected > 0, got {self.point_radius}")
        if not 0 < self.fov < 180:
            raise InputError(f"RenderConfig.fov: expected in (0, 180) degrees, got {self.fov}")

    @property
    def radius_px(self) -> float:
        """Splat radius in pixels: ``point_radius * image_size / 2``."""
        return self.point_radius * self.image_size / 2.0


RENDER_PRESETS: dict[str, RenderConfig] = {
    # PartSLIP / PartSTAD exactly (METHODS §1.2): 10 views, 800x800, 2-px splats.
    "partslip": RenderConfig(),
    # Same rig at half resolution with the same 2-px splat radius: 4x fewer pixels; for
    # interactive use and the benchmark on the CPU.
    "fast": RenderConfig(image_size=400, point_radius=0.01),
    # Small images for tests and quick previews.
    "tiny": RenderConfig(image_size=128, point_radius=0.02),
}


def render_preset(name: str) -> RenderConfig:
    """The named render preset; raises with the list of valid names when unknown."""
    try:
        return RENDER_PRESETS[name]
    except KeyError:
        raise InputError(
            f"unknown render preset {name!r}; choose one of {sorted(RENDER_PRESETS)}"
        ) from None


def to_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-ready dict of a settings dataclass (tuples become lists)."""
    return json_ready(dataclasses.asdict(cfg))


def json_ready(obj: Any) -> Any:
    """Recursively turn tuples into lists and numpy scalars into Python numbers."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", None) == 0:
        return obj.item()
    return obj


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build settings dataclass ``cls`` from a dict; unknown keys are an error, lists become tuples."""
    if not isinstance(data, dict):
        raise InputError(f"{cls.__name__}: expected a dict of settings, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise InputError(f"{cls.__name__}: unknown settings {unknown}; valid ones are {sorted(names)}")
    return cls(**{k: _tuplify(v) for k, v in data.items()})  # type: ignore[call-arg]


def _tuplify(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_tuplify(x) for x in v)
    return v
