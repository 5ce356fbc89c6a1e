"""Rendered resources: parameters (PS3.18 §8.3.5.1) and the presentation pipeline (PS3.4 Annex N)."""

from __future__ import annotations

import io
import math
import warnings

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from beamit.dicomweb.wado.render_params import JPEG, PNG, RenderParamError, RenderParams, Viewport, Window
from beamit.dicomweb.wado.rendering import apply_viewport, encode, render


def gray(pixels: np.ndarray, photometric: str = "MONOCHROME2", **attrs: object) -> Dataset:
    ds = Dataset()
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    for name, value in attrs.items():
        setattr(ds, name, value)
    return ds


RAMP = np.arange(0, 256, dtype=np.uint16).reshape(16, 16)


# -- parameters ----------------------------------------------------------------------------------


def test_window_parse_functions():
    assert Window.parse("40,400") == Window(40.0, 400.0, "LINEAR")
    assert Window.parse("40,400,linear") == Window(40.0, 400.0, "LINEAR")
    assert Window.parse("-600,1500,LINEAR-EXACT") == Window(-600.0, 1500.0, "LINEAR_EXACT")
    assert Window.parse("10.5,0.5,linear_exact").function == "LINEAR_EXACT"
    assert Window.parse("0,20,sigmoid") == Window(0.0, 20.0, "SIGMOID")


@pytest.mark.parametrize("text", ["40", "a,400", "40,400,cubic", "40,0.5,linear", "40,0,sigmoid", "40,-1,linear-exact",
                                  "nan,400", "1,2,3,4"])
def test_window_parse_rejects(text):
    with pytest.raises(RenderParamError):
        Window.parse(text)


def test_viewport_parse():
    assert Viewport.parse("128,64") == Viewport(128, 64)
    assert Viewport.parse("100,100,10,20,30,40") == Viewport(100, 100, 10, 20, 30, 40)
    assert Viewport.parse("100,100,,,-30,40") == Viewport(100, 100, 0, 0, -30, 40)


@pytest.mark.parametrize("text", ["0,10", "10", "10,10,1", "10,x", "5000,10", "10,10,-1,0,5,5", "10,10,0,0,0,5"])
def test_viewport_parse_rejects(text):
    with pytest.raises(RenderParamError):
        Viewport.parse(text)


def test_render_params_from_query():
    params = RenderParams.parse({"window": "40,400", "viewport": "64,64", "quality": "75", "annotation": "patient"})
    assert params.window == Window(40, 400) and params.viewport == Viewport(64, 64) and params.quality == 75
    assert params.ignored == ("annotation",)
    assert RenderParams.parse({"iccprofile": "no"}).ignored == ()
    for bad in ({"quality": "0"}, {"quality": "101"}, {"quality": "high"}):
        with pytest.raises(RenderParamError):
            RenderParams.parse(bad)


def test_canonical_form_separates_outputs():
    a = RenderParams.parse({"window": "40,400"}).canonical(JPEG)
    b = RenderParams.parse({"window": "40,401"}).canonical(JPEG)
    assert a != b != RenderParams().canonical(JPEG) != RenderParams().canonical(PNG)
    assert RenderParams.parse({"quality": "90"}).canonical(JPEG) == RenderParams().canonical(JPEG)  # 90 is default
    assert RenderParams.parse({"quality": "50"}).canonical(PNG) == RenderParams().canonical(PNG)  # PNG is lossless


# -- windowing (PS3.3 §C.11.2.1.2-3) ------------------------------------------------------------------


def linear(x: float, c: float, w: float) -> float:
    if x <= c - 0.5 - (w - 1) / 2:
        return 0
    if x > c - 0.5 + (w - 1) / 2:
        return 255
    return ((x - (c - 0.5)) / (w - 1) + 0.5) * 255


def linear_exact(x: float, c: float, w: float) -> float:
    if x <= c - w / 2:
        return 0
    if x > c + w / 2:
        return 255
    return (x - c) / w * 255 + 127.5


def sigmoid(x: float, c: float, w: float) -> float:
    return 255 / (1 + math.exp(-4 * (x - c) / w))


@pytest.mark.parametrize(("function", "formula"), [("linear", linear), ("linear-exact", linear_exact),
                                                   ("sigmoid", sigmoid)])
def test_window_functions_follow_ps3_3(function, formula):
    ds = gray(RAMP)
    out = render(RAMP, ds, RenderParams(window=Window.parse(f"128,64,{function}")))
    expected = np.array([[round(formula(float(v), 128, 64)) for v in row] for row in RAMP])
    assert out.dtype == np.uint8
    assert np.abs(out.astype(int) - expected).max() <= 1


def test_stored_window_and_function_apply_without_a_parameter():
    ds = gray(RAMP, WindowCenter=[100, 50], WindowWidth=[20, 10], VOILUTFunction="LINEAR_EXACT")
    out = render(RAMP, ds, RenderParams())
    assert out[RAMP <= 90].max() == 0 and out[RAMP > 110].min() == 255
    assert out[RAMP == 100][0] == 128


def test_window_parameter_overrides_the_stored_window():
    ds = gray(RAMP, WindowCenter=100, WindowWidth=20)
    assert not np.array_equal(render(RAMP, ds, RenderParams()), render(RAMP, ds, RenderParams(window=Window(200, 20))))


def test_modality_lut_applies_before_the_window():
    ds = gray(RAMP, RescaleSlope=2, RescaleIntercept=-1000, WindowCenter=-744, WindowWidth=2)
    out = render(RAMP, ds, RenderParams())
    # value v -> 2v - 1000; the window edge -744 is v = 128
    assert out[RAMP < 128].max() == 0 and out[RAMP > 128].min() == 255


def test_no_voi_uses_the_value_range():
    out = render(RAMP, gray(RAMP), RenderParams())
    assert out.min() == 0 and out.max() == 255
    assert render(np.full((4, 4), 7, dtype=np.uint16), gray(np.zeros((4, 4))), RenderParams()).max() == 0


def test_voi_lut_sequence():
    item = Dataset()
    item.LUTDescriptor = [256, 0, 8]
    item.LUTData = list(range(255, -1, -1))
    ds = gray(RAMP, VOILUTSequence=[item])
    ds["VOILUTSequence"].value[0]["LUTData"].VR = "US"
    out = render(RAMP, ds, RenderParams())
    assert out[0, 0] == 255 and out[-1, -1] == 0


def test_monochrome1_is_inverted():
    m2 = render(RAMP, gray(RAMP), RenderParams())
    m1 = render(RAMP, gray(RAMP, "MONOCHROME1"), RenderParams())
    assert np.array_equal(m1, 255 - m2)
    window = RenderParams(window=Window(100, 50))
    assert np.array_equal(render(RAMP, gray(RAMP, "MONOCHROME1"), window), 255 - render(RAMP, gray(RAMP), window))


def test_color_samples():
    for name in ("SC_rgb_rle_16bit.dcm", "examples_palette.dcm", "SC_rgb_dcmtk_+eb+cy+s2.dcm"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(get_testdata_file(name))
            pixels = ds.pixel_array
        out = render(pixels, ds, RenderParams(window=Window(1, 1)))  # ignored for color
        assert out.shape == (*pixels.shape[:2], 3) and out.dtype == np.uint8 and out.max() > 100


# -- viewport and encoding ----------------------------------------------------------------------------


def test_viewport_fits_preserving_aspect_ratio():
    image = np.zeros((100, 200), dtype=np.uint8)
    assert apply_viewport(image, Viewport(50, 50)).shape == (25, 50)
    assert apply_viewport(image, Viewport(50, 10)).shape == (10, 20)
    assert apply_viewport(image, Viewport(400, 400)).shape == (200, 400)
    assert apply_viewport(image, None) is image


def test_viewport_source_region_and_flip():
    image = np.arange(100, dtype=np.uint8).reshape(10, 10)
    region = apply_viewport(image, Viewport(4, 2, 2, 3, 4, 2))
    assert np.array_equal(region, image[3:5, 2:6])
    flipped = apply_viewport(image, Viewport(4, 2, 2, 3, -4, 2))
    assert np.array_equal(flipped, image[3:5, 2:6][:, ::-1])
    with pytest.raises(RenderParamError):
        apply_viewport(image, Viewport(4, 4, 20, 0))


def test_encode_jpeg_and_png():
    image = render(RAMP, gray(RAMP), RenderParams())
    png = Image.open(io.BytesIO(encode(image, PNG)))
    assert png.format == "PNG" and np.array_equal(np.asarray(png), image)
    jpeg = Image.open(io.BytesIO(encode(image, JPEG, 50)))
    assert jpeg.format == "JPEG" and jpeg.size == (16, 16)
    assert encode(image, JPEG, 10) != encode(image, JPEG, 95)
    assert encode(image, JPEG) == encode(image, JPEG)  # deterministic: strong ETags rely on it


def _voi_lut_item() -> Dataset:
    item = Dataset()
    item.LUTDescriptor = [1024, 0, 10]
    item.LUTData = [(i * 37) % 1024 for i in range(1024)]
    return item


@pytest.mark.parametrize("case", ["auto", "stored", "param", "sigmoid", "exact", "voi", "negative-slope"])
@pytest.mark.parametrize("dtype", [np.uint16, np.int16, np.uint8])
def test_lookup_table_rendering_equals_per_pixel_rendering(case: str, dtype: type) -> None:
    """Frames are rendered through a table of their stored values' range; the image is the one
    computing every step per pixel gives, for each window source and function."""
    from beamit.dicomweb.wado import rendering

    info = np.iinfo(dtype)
    rng = np.random.default_rng(len(case) + info.bits)
    pixels = rng.integers(max(info.min, -1200), min(info.max, 3000), size=(64, 48), endpoint=True).astype(dtype)
    attrs: dict[str, object] = {"RescaleSlope": 1.5, "RescaleIntercept": -1024 if info.bits == 16 else -100}
    window = None
    if case == "stored":
        attrs |= {"WindowCenter": [40, 400], "WindowWidth": [400, 1500]}
    elif case == "param":
        window = Window.parse("300,1200")
    elif case == "sigmoid":
        window = Window.parse("100,900,sigmoid")
    elif case == "exact":
        attrs |= {"WindowCenter": 55.5, "WindowWidth": 333, "VOILUTFunction": "LINEAR_EXACT"}
    elif case == "voi":
        attrs = {"VOILUTSequence": [_voi_lut_item()]}
    elif case == "negative-slope":
        attrs = {"RescaleSlope": -0.75, "RescaleIntercept": 10}
    ds = gray(pixels, PixelRepresentation=int(info.min < 0), **attrs)
    if case == "voi":
        ds["VOILUTSequence"].value[0]["LUTData"].VR = "US"
    expected = rendering._grayscale_values(pixels, ds, window)
    actual = rendering._grayscale(pixels, ds, window)
    assert actual.dtype == expected.dtype == np.uint8
    assert np.array_equal(actual, expected)
    assert len(np.unique(actual)) > 2  # a real image, not a flat one
