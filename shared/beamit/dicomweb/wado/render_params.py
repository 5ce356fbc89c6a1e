"""The query parameters of rendered resources (PS3.18 §8.3.5.1), parsed without the pixel pipeline.

Query parameters (PS3.18 §8.3.5.1): ``window=center,width[,function]`` with function
``linear`` (default), ``linear-exact`` or ``sigmoid`` (``_`` accepted for ``-``), grayscale
only; ``viewport=vw,vh[,sx,sy,sw,sh]``: the source region (default the whole image; a
negative ``sw``/``sh`` flips it) is scaled to fit ``vw`` x ``vh`` preserving its aspect
ratio; ``quality`` 1-100 for JPEG (default 90). ``annotation`` and ``iccprofile`` are not
supported: they are ignored and named in a ``Warning`` header.

The pipeline that uses them is :mod:`beamit.dicomweb.wado.rendering` (numpy, Pillow, pydicom);
parsing them, done for every rendered request before anything is read, needs none of it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

JPEG = "image/jpeg"
PNG = "image/png"
RENDERED_MEDIA_TYPES = (JPEG, PNG)
DEFAULT_QUALITY = 90
MAX_VIEWPORT = 4096
VOI_FUNCTIONS = {"linear": "LINEAR", "linear-exact": "LINEAR_EXACT", "sigmoid": "SIGMOID"}
IGNORED_PARAMETERS = ("annotation", "iccprofile")


class RenderParamError(ValueError):
    """A rendering query parameter is malformed (respond 400)."""


@dataclass(frozen=True)
class Window:
    """A VOI window (PS3.3 §C.11.2.1.2): center and width in modality (output) units."""

    center: float
    width: float
    function: str = "LINEAR"

    def __post_init__(self) -> None:
        if self.function not in VOI_FUNCTIONS.values():
            raise RenderParamError(f"unknown VOI LUT function {self.function!r}")
        if self.function == "LINEAR" and self.width < 1:
            raise RenderParamError("a linear window needs a width of at least 1 (PS3.3 §C.11.2.1.2.1)")
        if self.width <= 0:
            raise RenderParamError("the window width must be greater than 0")

    @classmethod
    def parse(cls, text: str) -> Window:
        parts = [p.strip() for p in text.split(",")]
        if len(parts) not in (2, 3):
            raise RenderParamError(f"window={text!r}: expected center,width[,function]")
        try:
            center, width = float(parts[0]), float(parts[1])
        except ValueError:
            raise RenderParamError(f"window={text!r}: center and width must be numbers") from None
        if not (math.isfinite(center) and math.isfinite(width)):
            raise RenderParamError(f"window={text!r}: center and width must be finite")
        name = parts[2].lower().replace("_", "-") if len(parts) == 3 and parts[2] else "linear"
        if name not in VOI_FUNCTIONS:
            raise RenderParamError(f"window={text!r}: function must be linear, linear-exact or sigmoid")
        return cls(center, width, VOI_FUNCTIONS[name])


@dataclass(frozen=True)
class Viewport:
    """``viewport=vw,vh[,sx,sy,sw,sh]`` (PS3.18 §8.3.5.1.3)."""

    width: int
    height: int
    sx: int = 0
    sy: int = 0
    sw: int | None = None
    sh: int | None = None

    @classmethod
    def parse(cls, text: str) -> Viewport:
        parts = [p.strip() for p in text.split(",")]
        if len(parts) not in (2, 6):
            raise RenderParamError(f"viewport={text!r}: expected vw,vh or vw,vh,sx,sy,sw,sh")
        values: list[int | None] = []
        for part in parts:
            if part == "" and len(values) >= 2:
                values.append(None)  # an omitted source value takes its default
                continue
            try:
                values.append(int(part))
            except ValueError:
                raise RenderParamError(f"viewport={text!r}: {part!r} is not an integer") from None
        vw, vh = values[0], values[1]
        assert vw is not None and vh is not None
        if not (0 < vw <= MAX_VIEWPORT and 0 < vh <= MAX_VIEWPORT):
            raise RenderParamError(f"viewport={text!r}: vw and vh must be 1-{MAX_VIEWPORT}")
        if len(values) == 2:
            return cls(vw, vh)
        sx, sy, sw, sh = values[2:]
        if (sx or 0) < 0 or (sy or 0) < 0:
            raise RenderParamError(f"viewport={text!r}: sx and sy must not be negative")
        if sw == 0 or sh == 0:
            raise RenderParamError(f"viewport={text!r}: sw and sh must not be 0")
        return cls(vw, vh, sx or 0, sy or 0, sw, sh)

    def __str__(self) -> str:
        values = (self.width, self.height, self.sx, self.sy, self.sw, self.sh)
        return ",".join("" if v is None else str(v) for v in values)


@dataclass(frozen=True)
class RenderParams:
    window: Window | None = None
    viewport: Viewport | None = None
    quality: int | None = None
    ignored: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> RenderParams:
        """From query parameters; raises :class:`RenderParamError` naming the bad one."""
        window = Window.parse(args["window"]) if args.get("window") else None
        viewport = Viewport.parse(args["viewport"]) if args.get("viewport") else None
        quality = None
        if args.get("quality"):
            try:
                quality = int(args["quality"])
            except ValueError:
                raise RenderParamError("quality must be an integer 1-100") from None
            if not 1 <= quality <= 100:
                raise RenderParamError("quality must be an integer 1-100")
        ignored = tuple(name for name in IGNORED_PARAMETERS
                        if args.get(name) and not (name == "iccprofile" and args[name].lower() == "no"))
        return cls(window, viewport, quality, ignored)

    def canonical(self, media_type: str) -> str:
        """What of the parameters shapes the output, as text (for the ETag)."""
        window = "" if self.window is None else f"{self.window.center!r},{self.window.width!r},{self.window.function}"
        quality = str(self.quality or DEFAULT_QUALITY) if media_type == JPEG else ""
        return f"{media_type};w={window};v={self.viewport or ''};q={quality}"
