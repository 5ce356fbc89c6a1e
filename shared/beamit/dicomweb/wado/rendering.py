"""Rendered resources (PS3.18 §8.3.5, §10.4.1.1.5): one frame to a consumer image.

The pipeline follows the grayscale and color transformations of PS3.4 Annex N, with
pydicom's implementations:

- grayscale (MONOCHROME1/2): Modality LUT or Rescale Slope/Intercept
  (:func:`~pydicom.pixels.apply_modality_lut`), then the VOI transformation: the request's
  ``window`` if given, else the data set's VOI LUT Sequence (:func:`~pydicom.pixels.apply_voi`)
  or first Window Center/Width with its VOI LUT Function, else the frame's value range.
  Windowing is :func:`~pydicom.pixels.apply_windowing` with an 8-bit output range, so the
  LINEAR, LINEAR_EXACT and SIGMOID functions of PS3.3 §C.11.2.1.2-3 map straight to 0-255.
  MONOCHROME1 is then inverted (minimum value shown white, PS3.3 §C.7.6.3.1.2);
- PALETTE COLOR through its lookup tables (:func:`~pydicom.pixels.apply_color_lut`);
- RGB and YBR_* as RGB (decoding converts YCbCr to RGB with pydicom's ``as_rgb``, i.e.
  :func:`~pydicom.pixels.convert_color_space`), scaled from Bits Stored to 8 bits.

Query parameters (PS3.18 §8.3.5.1): ``window=center,width[,function]`` with function
``linear`` (default), ``linear-exact`` or ``sigmoid`` (``_`` accepted for ``-``), grayscale
only; ``viewport=vw,vh[,sx,sy,sw,sh]``: the source region (default the whole image; a
negative ``sw``/``sh`` flips it) is scaled to fit ``vw`` x ``vh`` preserving its aspect
ratio; ``quality`` 1-100 for JPEG (default 90). ``annotation`` and ``iccprofile`` are not
supported: they are ignored and named in a ``Warning`` header.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi, apply_windowing

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
        if not (np.isfinite(center) and np.isfinite(width)):
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


# -- the pipeline --------------------------------------------------------------------------------


def render(pixels: np.ndarray, ds: Dataset, params: RenderParams) -> np.ndarray:
    """Presentation values (uint8, rows x columns [x 3]) of one decoded frame."""
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric == "PALETTE COLOR":
        image = _to_uint8(apply_color_lut(pixels, ds), _lut_bits(ds))
    elif pixels.ndim == 3:
        # Decoding already converted YBR_FULL/YBR_FULL_422 to RGB (pydicom's as_rgb, which is
        # convert_color_space), and JPEG 2000 decoders undo YBR_RCT/YBR_ICT themselves.
        image = _to_uint8(pixels, int(ds.get("BitsStored") or 8))
    else:
        image = _grayscale(pixels, ds, params.window)
        if photometric == "MONOCHROME1":
            image = 255 - image
    return apply_viewport(image, params.viewport)


LUT_DOMAIN_MAX = 1 << 16
"""Widest range of stored values rendered through a lookup table (every 16-bit frame)."""


def _grayscale(pixels: np.ndarray, ds: Dataset, window: Window | None) -> np.ndarray:
    """Every step below maps each stored value on its own (a linear rescale, windowing, a VOI
    LUT), and the automatic window reads only the extremes, which a linear rescale maps to the
    extremes: so the steps are computed once per stored value in the frame's range and the
    frame is looked up in that table, giving the same image as computing them per pixel."""
    if pixels.ndim == 2 and pixels.dtype.kind in "iu" and pixels.size and "ModalityLUTSequence" not in ds:
        low, high = int(pixels.min()), int(pixels.max())
        if high - low < min(LUT_DOMAIN_MAX, pixels.size):
            table = _grayscale_values(np.arange(low, high + 1).astype(pixels.dtype), ds, window)
            result: np.ndarray = table[np.subtract(pixels, low, dtype=np.intp)]
            return result
    return _grayscale_values(pixels, ds, window)


def _grayscale_values(pixels: np.ndarray, ds: Dataset, window: Window | None) -> np.ndarray:
    values = apply_modality_lut(pixels, ds)
    if window is not None:
        return _window(values, window)
    voi = ds.get("VOILUTSequence")
    if voi and "LUTDescriptor" in voi[0] and "LUTData" in voi[0]:
        try:
            out = apply_voi(np.rint(values).astype(np.int64), ds)
            return _to_uint8(out, int(voi[0].LUTDescriptor[2]))
        except Exception:
            pass
    stored = _stored_window(ds)
    if stored is not None:
        return _window(values, stored)
    low, high = float(np.min(values)), float(np.max(values))
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    return _window(values, Window((low + high) / 2, high - low, "LINEAR_EXACT"))


def _stored_window(ds: Dataset) -> Window | None:
    """The data set's first Window Center/Width and VOI LUT Function, if usable."""
    try:
        center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
        if center is None or width is None or center == "" or width == "":
            return None
        center = center[0] if isinstance(center, MultiValue | list | tuple) else center
        width = width[0] if isinstance(width, MultiValue | list | tuple) else width
        function = str(ds.get("VOILUTFunction") or "LINEAR").upper()
        return Window(float(center), float(width), function if function in VOI_FUNCTIONS.values() else "LINEAR")
    except (RenderParamError, TypeError, ValueError):
        return None


def _window(values: np.ndarray, window: Window) -> np.ndarray:
    """PS3.3 §C.11.2.1.2-3 windowing to 0-255, by pydicom: an 8-bit unsigned output range."""
    voi = Dataset()
    voi.PhotometricInterpretation = "MONOCHROME2"
    voi.BitsStored = 8
    voi.PixelRepresentation = 0
    voi.WindowCenter = window.center
    voi.WindowWidth = window.width
    voi.VOILUTFunction = window.function
    out: np.ndarray = np.rint(apply_windowing(np.asarray(values, dtype=np.float64), voi))
    result: np.ndarray = np.clip(out, 0, 255).astype(np.uint8)
    return result


def _lut_bits(ds: Dataset) -> int:
    descriptor = ds.get("RedPaletteColorLookupTableDescriptor")
    return int(descriptor[2]) if descriptor else 8


def _to_uint8(values: np.ndarray, bits: int) -> np.ndarray:
    if values.dtype == np.uint8 and bits <= 8:
        return values
    top = float(2 ** max(bits, 1) - 1)
    return np.clip(np.rint(values.astype(np.float64) * (255.0 / top)), 0, 255).astype(np.uint8)


def apply_viewport(image: np.ndarray, viewport: Viewport | None) -> np.ndarray:
    """Crop to the source region (flipping for a negative width/height) and scale it to fit
    the viewport, preserving the aspect ratio."""
    if viewport is None:
        return image
    rows, columns = image.shape[:2]
    sx, sy = viewport.sx, viewport.sy
    sw = viewport.sw if viewport.sw is not None else columns - sx
    sh = viewport.sh if viewport.sh is not None else rows - sy
    x0, x1 = sx, min(sx + abs(sw), columns)
    y0, y1 = sy, min(sy + abs(sh), rows)
    if x0 >= x1 or y0 >= y1:
        raise RenderParamError(f"viewport: the source region is outside the {columns}x{rows} image")
    region = image[y0:y1, x0:x1]
    if sw < 0:
        region = region[:, ::-1]
    if sh < 0:
        region = region[::-1, :]
    height, width = region.shape[:2]
    scale = min(viewport.width / width, viewport.height / height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == (width, height):
        return np.ascontiguousarray(region)
    return np.asarray(Image.fromarray(np.ascontiguousarray(region)).resize(size, Image.Resampling.LANCZOS))


def encode(image: np.ndarray, media_type: str, quality: int | None = None) -> bytes:
    """``image`` (uint8 presentation values) as JPEG or PNG."""
    out = io.BytesIO()
    picture = Image.fromarray(np.ascontiguousarray(image))
    if media_type == JPEG:
        picture.save(out, format="JPEG", quality=quality or DEFAULT_QUALITY)
    elif media_type == PNG:
        picture.save(out, format="PNG")
    else:
        raise ValueError(f"cannot render as {media_type}")
    return out.getvalue()
