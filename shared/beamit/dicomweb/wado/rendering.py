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

Query parameters: :mod:`beamit.dicomweb.wado.render_params`.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi, apply_windowing

from beamit.dicomweb.wado.render_params import (
    DEFAULT_QUALITY,
    JPEG,
    PNG,
    VOI_FUNCTIONS,
    RenderParamError,
    RenderParams,
    Viewport,
    Window,
)

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
