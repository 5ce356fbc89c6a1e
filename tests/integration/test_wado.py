"""WADO-RS against the local stack: dicomweb-client and raw HTTP, on every pydicom sample with pixels."""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pydicom
import pytest
from dicomweb_client import DICOMwebClient
from PIL import Image
from pydicom.encaps import generate_frames
from pydicom.uid import UID, generate_uid

from beamit.catalog.commit import commit_instances
from beamit.dicomweb.dicom_json import element_at
from beamit.dicomweb.multipart import boundary_from_content_type, iter_parts
from beamit.dicomweb.pixel_limits import PixelLimits
from beamit.dicomweb.uri import ElementPath
from beamit.ingest import layout
from beamit.ingest.instance import parse_instance
from beamit.storage import Query
from tests.dicom_samples import ct_instance, decompression_bomb, multipart, part10_bytes, pixel_sample_paths
from tests.support import TenantCredentials, new_tenant

EVRLE = "1.2.840.10008.1.2.1"
ROOT = "/v1/dicomweb"
AS_STORED = 'multipart/related; type="application/dicom"; transfer-syntax=*'
VIEWER = "https://viewer.example.org"


@dataclass(frozen=True)
class Sample:
    name: str
    study: str
    series: str
    sop: str
    transfer_syntax: str
    sent: bytes

    @property
    def path(self) -> str:
        return f"{ROOT}/studies/{self.study}/series/{self.series}/instances/{self.sop}"

    def dataset(self) -> pydicom.Dataset:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pydicom.dcmread(io.BytesIO(self.sent))

    def pixels(self) -> np.ndarray | None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return self.dataset().pixel_array
            except Exception:
                return None

    def frames(self) -> list[np.ndarray]:
        pixels = self.pixels()
        assert pixels is not None
        return list(pixels) if int(self.dataset().get("NumberOfFrames") or 1) > 1 else [pixels]


def store(api, tenant, payloads: list[bytes]) -> None:
    batch: list[bytes] = []
    for data in payloads + [b""]:
        if data and sum(map(len, batch)) + len(data) < 3 << 20:
            batch.append(data)
            continue
        if batch:
            body, content_type = multipart(batch)
            response = api.post(f"{ROOT}/studies", data=body, headers={**tenant.headers, "Content-Type": content_type})
            assert response.status_code == 200, response.text
        batch = [data]


@pytest.fixture(scope="module")
def owner(svc) -> TenantCredentials:
    return new_tenant(svc)


@pytest.fixture(scope="module")
def samples(api, owner) -> dict[str, Sample]:
    """Every pydicom sample with pixels, stored as is (samples that repeat a SOP Instance UID
    get a new one and are re-encoded by pydicom)."""
    found: dict[str, Sample] = {}
    seen: set[str] = set()
    for path in pixel_sample_paths():
        raw = path.read_bytes()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path)
            if str(ds.SOPInstanceUID) in seen:
                ds.SOPInstanceUID = generate_uid()
                ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
                raw = part10_bytes(ds)
        seen.add(str(ds.SOPInstanceUID))
        found[path.name] = Sample(path.name, str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID),
                                  str(ds.SOPInstanceUID), str(ds.file_meta.TransferSyntaxUID), raw)
    store(api, owner, [s.sent for s in found.values()])
    return found


@pytest.fixture(scope="module")
def study(api, owner) -> list[pydicom.Dataset]:
    """One synthetic study: two series of three CT instances, stored out of order."""
    uid = generate_uid()
    series = sorted([generate_uid(), generate_uid()])
    instances = [ct_instance(uid, series[s], number=n) for s in (1, 0) for n in (3, 1, 2)]
    store(api, owner, [part10_bytes(ds) for ds in instances])
    return sorted(instances, key=lambda ds: (ds.SeriesInstanceUID, ds.InstanceNumber))


def client(stack, tenant) -> DICOMwebClient:
    return DICOMwebClient(url=f"{stack.url}{ROOT}", headers=tenant.headers)


def get(api, tenant, path: str, accept: str | None = None, **headers: str):
    if accept is not None:
        headers["Accept"] = accept
    return api.get(path, headers={**tenant.headers, **headers})


def parts(response) -> list[tuple[str, bytes]]:
    boundary = boundary_from_content_type(response.headers["Content-Type"])
    out = []
    for part in iter_parts(io.BytesIO(response.content), boundary, max_part_bytes=None):
        with part:
            out.append((part.content_type, part.body.read()))
    return out


def quietly(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


def le_bytes(pixels: np.ndarray) -> bytes:
    return np.ascontiguousarray(pixels, dtype=pixels.dtype.newbyteorder("<")).tobytes()


def decodable(samples: dict[str, Sample]) -> Iterator[Sample]:
    return (s for s in samples.values() if s.pixels() is not None)


# -- instances ---------------------------------------------------------------------------------------


def test_every_sample_as_stored_is_byte_identical(api, stack, owner, samples):
    dicomweb = client(stack, owner)
    for sample in samples.values():
        response = get(api, owner, sample.path, AS_STORED)
        assert response.status_code == 200, (sample.name, response.text)
        [(content_type, data)] = parts(response)
        assert data == sample.sent, sample.name
        assert content_type == f"application/dicom; transfer-syntax={sample.transfer_syntax}"
        ds = quietly(dicomweb.retrieve_instance, sample.study, sample.series, sample.sop,
                     media_types=(("application/dicom", "*"),))
        assert ds.SOPInstanceUID == sample.sop and ds.file_meta.TransferSyntaxUID == sample.transfer_syntax


def test_study_and_series_as_stored_in_series_then_instance_number_order(api, stack, owner, study):
    dicomweb = client(stack, owner)
    retrieved = quietly(dicomweb.retrieve_study, study[0].StudyInstanceUID, media_types=(("application/dicom", "*"),))
    assert [ds.SOPInstanceUID for ds in retrieved] == [ds.SOPInstanceUID for ds in study]
    response = get(api, owner, f"{ROOT}/studies/{study[0].StudyInstanceUID}", AS_STORED)
    assert [data for _, data in parts(response)] == [part10_bytes(ds) for ds in study]
    series = quietly(dicomweb.retrieve_series, study[0].StudyInstanceUID, study[0].SeriesInstanceUID,
                     media_types=(("application/dicom", "*"),))
    assert [ds.InstanceNumber for ds in series] == [1, 2, 3]
    # Streamed with chunked coding, never with Content-Length: Cloud Run (under Cloud Functions
    # gen2) refuses a non-streamed HTTP/1 response over 32 MiB, and a study is often larger.
    assert response.headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in response.headers


def test_default_retrieve_is_explicit_vr_little_endian_with_the_same_pixels(api, stack, owner, samples):
    dicomweb = client(stack, owner)
    for sample in samples.values():
        expected = sample.pixels()
        if expected is None:
            if UID(sample.transfer_syntax).is_compressed:  # cannot be decoded: a clear 406
                response = get(api, owner, sample.path)
                assert response.status_code == 406 and "transfer-syntax=*" in response.json()["error"]["message"]
            continue
        # dicomweb-client 0.61 asks for transfer-syntax=* unless told: ask for the default
        ds = quietly(dicomweb.retrieve_instance, sample.study, sample.series, sample.sop,
                     media_types=("application/dicom",))
        assert ds.file_meta.TransferSyntaxUID == EVRLE, sample.name
        assert ds.SOPInstanceUID == sample.sop
        assert np.array_equal(quietly(getattr, ds, "pixel_array"), expected), sample.name


def test_explicit_transfer_syntax_is_honoured_or_refused(api, owner, samples, study):
    jpeg = samples["SC_rgb_jpeg_dcmtk.dcm"]
    dicom = 'multipart/related; type="application/dicom"; transfer-syntax='
    response = get(api, owner, jpeg.path, dicom + jpeg.transfer_syntax)
    assert response.status_code == 200 and parts(response)[0][1] == jpeg.sent
    refused = get(api, owner, jpeg.path, dicom + "1.2.840.10008.1.2.4.90")
    assert refused.status_code == 406
    single = get(api, owner, jpeg.path, "application/dicom; transfer-syntax=*")
    assert single.status_code == 200 and single.content == jpeg.sent
    assert single.headers["Content-Type"] == f"application/dicom; transfer-syntax={jpeg.transfer_syntax}"
    study_path = f"{ROOT}/studies/{study[0].StudyInstanceUID}"
    assert get(api, owner, study_path, "application/dicom").status_code == 406  # single part: instances only


@pytest.mark.parametrize("accept", ["application/json", "image/jpeg", 'multipart/related; type="image/jpeg"'])
def test_impossible_accept_is_406(api, owner, samples, accept):
    response = get(api, owner, samples["CT_small.dcm"].path, accept)
    assert response.status_code == 406
    assert "available" in response.json()["error"]["message"]


# -- metadata -------------------------------------------------------------------------------------------


def bulk_uris(item: dict, found: list[str] | None = None) -> list[str]:
    found = [] if found is None else found
    for value in item.values():
        if "BulkDataURI" in value:
            found.append(value["BulkDataURI"])
        for nested in value.get("Value", []) if value.get("vr") == "SQ" else []:
            bulk_uris(nested, found)
    return found


def test_metadata_with_bulkdata_uris_under_the_public_root(api, stack, owner, study):
    dicomweb = client(stack, owner)
    uid, series = study[0].StudyInstanceUID, study[0].SeriesInstanceUID
    items = dicomweb.retrieve_study_metadata(uid)
    assert [i["00080018"]["Value"][0] for i in items] == [ds.SOPInstanceUID for ds in study]
    assert len(dicomweb.retrieve_series_metadata(uid, series)) == 3
    [instance] = [dicomweb.retrieve_instance_metadata(uid, series, study[0].SOPInstanceUID)]
    assert instance["00080018"]["Value"] == [study[0].SOPInstanceUID]
    uri = instance["7FE00010"]["BulkDataURI"]
    instance_url = f"{stack.url}{ROOT}/studies/{uid}/series/{series}/instances/{study[0].SOPInstanceUID}"
    assert uri == f"{instance_url}/bulkdata/7FE00010"
    spoofed = get(api, owner, f"{ROOT}/studies/{uid}/metadata", Host="evil.example")
    assert all(u.startswith(f"{stack.url}{ROOT}/") for item in spoofed.json() for u in bulk_uris(item))
    assert spoofed.headers["Content-Type"] == "application/dicom+json"
    plain = get(api, owner, f"{ROOT}/studies/{uid}/metadata", "application/json")
    assert plain.headers["Content-Type"] == "application/json" and plain.json() == spoofed.json()
    assert get(api, owner, f"{ROOT}/studies/{uid}/metadata", "image/jpeg").status_code == 406


def test_every_bulkdata_uri_is_fetchable(stack, owner, samples):
    dicomweb = client(stack, owner)
    for name in ("examples_overlay.dcm", "examples_palette.dcm", "SC_rgb_rle_2frame.dcm", "MR_small_bigendian.dcm",
                 "CT_small.dcm", "examples_ybr_color.dcm", "image_dfl.dcm"):
        sample = samples[name]
        item = dicomweb.retrieve_instance_metadata(sample.study, sample.series, sample.sop)
        uris = bulk_uris(item)
        assert uris, name
        ds = sample.dataset()
        for uri in uris:
            [value] = dicomweb.retrieve_bulkdata(uri)
            path = ElementPath.parse(uri.split("/bulkdata/", 1)[1])
            if path == ElementPath(0x7FE00010):  # uncompressed: every frame, one after the other
                if UID(sample.transfer_syntax).is_compressed:
                    assert value == b"".join(le_bytes(f) for f in sample.frames()), name
                elif not UID(sample.transfer_syntax).is_little_endian:
                    assert value == le_bytes(sample.pixels()), name
                else:
                    assert value == ds.PixelData[:len(value)] and len(ds.PixelData) - len(value) in (0, 1), name
            else:
                assert value == element_at(ds, path).value, (name, uri)


def test_metadata_keeps_only_committed_instances(api, svc, owner, study):
    uid, series = study[0].StudyInstanceUID, study[0].SeriesInstanceUID
    ghost = ct_instance(uid, series, number=99)  # as if its ingest wrote the chunk, then failed to commit
    item = {"00080018": {"vr": "UI", "Value": [ghost.SOPInstanceUID]}, "00200013": {"vr": "IS", "Value": [99]}}
    name = layout.series_metadata_chunk(owner.id, uid, series, "zz-uncommitted")
    svc.blobs.put(svc.settings.bucket("derived"), name, json.dumps([item]).encode(), content_type="application/json")
    try:
        sops = [i["00080018"]["Value"][0] for i in get(api, owner, f"{ROOT}/studies/{uid}/metadata").json()]
        assert ghost.SOPInstanceUID not in sops and len(sops) == 6
        ghost_path = f"{ROOT}/studies/{uid}/series/{series}/instances/{ghost.SOPInstanceUID}"
        assert get(api, owner, f"{ghost_path}/metadata").status_code == 404
    finally:
        svc.blobs.delete(svc.settings.bucket("derived"), name)


def test_metadata_of_a_committed_instance_without_precomputed_data_is_rebuilt(api, svc, owner):
    ds = ct_instance()
    store(api, owner, [part10_bytes(ds)])
    derived = svc.settings.bucket("derived")
    prefix = layout.series_metadata_prefix(owner.id, ds.StudyInstanceUID, ds.SeriesInstanceUID)
    for blob in svc.blobs.list(derived, prefix):
        svc.blobs.delete(derived, blob.name)  # as if the chunk were lost
    [item] = get(api, owner, f"{ROOT}/studies/{ds.StudyInstanceUID}/metadata").json()
    assert item["00080018"]["Value"] == [ds.SOPInstanceUID]
    assert item["7FE00010"]["BulkDataURI"].endswith(f"/instances/{ds.SOPInstanceUID}/bulkdata/7FE00010")


# -- frames and bulk data --------------------------------------------------------------------------------


def test_frames_decoded_by_default(stack, owner, samples):
    dicomweb = client(stack, owner)
    for sample in decodable(samples):
        frames = sample.frames()
        numbers = list(range(1, len(frames) + 1))[:5]
        got = dicomweb.retrieve_instance_frames(sample.study, sample.series, sample.sop, frame_numbers=numbers)
        assert len(got) == len(numbers)
        ds = sample.dataset()
        native = not UID(sample.transfer_syntax).is_compressed
        if native and (int(ds.SamplesPerPixel) > 1 or int(ds.BitsAllocated) < 8):
            continue  # native color / bit-packed: sent in the stored layout (checked against pydicom below)
        for number, data in zip(numbers, got, strict=True):
            assert data == le_bytes(frames[number - 1]), (sample.name, number)


def test_frames_as_stored(stack, owner, samples):
    dicomweb = client(stack, owner)
    for sample in decodable(samples):
        ds = sample.dataset()
        count = int(ds.get("NumberOfFrames") or 1)
        numbers = list(range(1, count + 1))[:4]
        got = dicomweb.retrieve_instance_frames(sample.study, sample.series, sample.sop, frame_numbers=numbers,
                                                media_types=(("application/octet-stream", "*"),))
        if UID(sample.transfer_syntax).is_encapsulated:
            stored = list(generate_frames(ds.PixelData, number_of_frames=count))
            assert got == [stored[n - 1] for n in numbers], sample.name
        elif UID(sample.transfer_syntax).is_little_endian and int(ds.BitsAllocated) >= 8:
            length = len(got[0])
            assert b"".join(got) == ds.PixelData[:length * len(numbers)], sample.name


def test_frames_in_their_compressed_media_type(api, owner, samples):
    sample = samples["examples_ybr_color.dcm"]  # JPEG Baseline, 30 frames
    response = get(api, owner, f"{sample.path}/frames/2,30", 'multipart/related; type="image/jpeg"')
    assert response.status_code == 200
    stored = list(generate_frames(sample.dataset().PixelData, number_of_frames=30))
    assert parts(response) == [(f"image/jpeg; transfer-syntax={sample.transfer_syntax}", stored[1]),
                               (f"image/jpeg; transfer-syntax={sample.transfer_syntax}", stored[29])]
    ohif_accept = "multipart/related; type=application/octet-stream; transfer-syntax=*"
    ohif = get(api, owner, f"{sample.path}/frames/1", ohif_accept)
    assert parts(ohif) == [(f"application/octet-stream; transfer-syntax={sample.transfer_syntax}", stored[0])]
    single = get(api, owner, f"{sample.path}/frames/1", "application/octet-stream")
    assert single.headers["Content-Type"] == f"application/octet-stream; transfer-syntax={EVRLE}"
    assert single.content == le_bytes(sample.frames()[0])
    assert get(api, owner, f"{sample.path}/frames/1", 'multipart/related; type="image/jp2"').status_code == 406


@pytest.mark.parametrize("frames", ["0", "a", "1,,2", "-1", "1;2", "%20"])
def test_malformed_frame_lists_are_400(api, owner, samples, frames):
    response = get(api, owner, f"{samples['CT_small.dcm'].path}/frames/{frames}")
    assert response.status_code == 400, frames
    assert "frame" in response.json()["error"]["message"]


def test_frames_out_of_range_are_404(api, owner, samples):
    response = get(api, owner, f"{samples['SC_rgb_rle_2frame.dcm'].path}/frames/1,3")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "frame 3 does not exist: the instance has 2 frames"


def test_bulkdata_errors(api, owner, samples):
    path = samples["CT_small.dcm"].path
    assert get(api, owner, f"{path}/bulkdata/7FE0").status_code == 400
    assert get(api, owner, f"{path}/bulkdata/00091001").status_code == 404
    assert get(api, owner, f"{path}/bulkdata/00100010").status_code == 404  # not bulk data


# -- rendered resources and thumbnails -----------------------------------------------------------------------


def image(data: bytes, fmt: str = "JPEG") -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    picture.load()
    assert picture.format == fmt
    return picture


def test_rendered_instances_series_and_study(api, stack, owner, samples, study):
    dicomweb = client(stack, owner)
    for sample in decodable(samples):
        rows, columns = sample.frames()[0].shape[:2]
        jpeg = image(dicomweb.retrieve_instance_rendered(sample.study, sample.series, sample.sop))
        assert jpeg.size == (columns, rows), sample.name
    ct = study[0]
    image(dicomweb.retrieve_series_rendered(ct.StudyInstanceUID, ct.SeriesInstanceUID))
    png = image(dicomweb.retrieve_series_rendered(ct.StudyInstanceUID, ct.SeriesInstanceUID,
                                                  media_types=("image/png",)), "PNG")
    assert png.size == (128, 128)
    study_jpeg = image(api.get(f"{ROOT}/studies/{ct.StudyInstanceUID}/rendered", headers=owner.headers).content)
    assert study_jpeg.size == (128, 128)  # the first frame of the first image
    frames = samples["examples_ybr_color.dcm"]
    rendered = dicomweb.retrieve_instance_frames_rendered(frames.study, frames.series, frames.sop, frame_numbers=[7],
                                                          params={"viewport": "160,160"})
    assert image(rendered).size == (160, 120)


def test_rendered_multipart_holds_every_frame(api, owner, samples, study):
    sample = samples["SC_rgb_rle_2frame.dcm"]
    response = get(api, owner, f"{sample.path}/rendered", 'multipart/related; type="image/png"')
    assert [ct for ct, _ in parts(response)] == ["image/png", "image/png"]
    both = get(api, owner, f"{sample.path}/frames/1,2/rendered")
    assert both.headers["Content-Type"].startswith('multipart/related; type="image/jpeg"') and len(parts(both)) == 2
    assert get(api, owner, f"{sample.path}/frames/1,2/rendered", "image/jpeg").status_code == 406
    rendered_study = f"{ROOT}/studies/{study[0].StudyInstanceUID}/rendered"
    whole = get(api, owner, rendered_study, 'multipart/related; type="image/jpeg"')
    assert len(parts(whole)) == 6


def test_window_parameter_changes_the_output(api, owner, samples):
    path = f"{samples['CT_small.dcm'].path}/rendered"
    default = get(api, owner, path, "image/png").content
    windowed = get(api, owner, f"{path}?window=40,80,linear", "image/png").content
    sigmoid = get(api, owner, f"{path}?window=40,80,sigmoid", "image/png").content
    assert len({default, windowed, sigmoid}) == 3
    assert get(api, owner, f"{path}?window=40,0,linear").status_code == 400
    assert get(api, owner, f"{path}?viewport=0,0").status_code == 400
    assert get(api, owner, f"{path}?quality=200").status_code == 400
    ignored = get(api, owner, f"{path}?annotation=patient")
    assert ignored.status_code == 200 and "annotation" in ignored.headers["Warning"]


def test_monochrome1_is_rendered_inverted(api, owner):
    ramp = np.tile(np.arange(0, 256, 4, dtype=np.uint16), (64, 1))
    paths = {}
    for photometric in ("MONOCHROME1", "MONOCHROME2"):
        ds = ct_instance()
        ds.PhotometricInterpretation = photometric
        ds.Rows, ds.Columns = ramp.shape
        ds.PixelRepresentation = 0
        ds.RescaleSlope, ds.RescaleIntercept = 1, 0
        for keyword in ("WindowCenter", "WindowWidth"):
            if keyword in ds:
                delattr(ds, keyword)
        ds.PixelData = ramp.tobytes()
        store(api, owner, [part10_bytes(ds)])
        paths[photometric] = (f"{ROOT}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
                              f"/instances/{ds.SOPInstanceUID}/rendered")
    m1 = np.asarray(image(get(api, owner, paths["MONOCHROME1"], "image/png").content, "PNG"))
    m2 = np.asarray(image(get(api, owner, paths["MONOCHROME2"], "image/png").content, "PNG"))
    assert m2[0, 0] == 0 and m2[0, -1] == 255
    assert np.array_equal(m1, 255 - m2)


def test_thumbnails_are_small_and_cached(api, svc, owner, samples, study):
    uid, first_series = study[0].StudyInstanceUID, study[0].SeriesInstanceUID
    study_thumbnail = f"{ROOT}/studies/{uid}/thumbnail"
    series_thumbnail = f"{ROOT}/studies/{uid}/series/{first_series}/thumbnail"
    served = {}
    for path in (study_thumbnail, series_thumbnail, f"{samples['examples_ybr_color.dcm'].path}/thumbnail",
                 f"{samples['examples_ybr_color.dcm'].path}/frames/3/thumbnail"):
        response = get(api, owner, path)
        assert response.status_code == 200, path
        assert max(image(response.content).size) <= 128
        served[path] = response.content
    # The study's and the first series' thumbnails are one cached object: the middle instance
    # of the first series, written before the response.
    derived = svc.settings.bucket("derived")
    prefix = f"{owner.id}/{uid}/{first_series}/thumbnails/"
    (cached,) = [b.name for b in svc.blobs.list(derived, prefix)]
    assert cached.startswith(f"{prefix}{study[1].SOPInstanceUID}/") and cached.endswith(".jpg")
    assert svc.blobs.read(derived, cached) == served[study_thumbnail] == served[series_thumbnail]
    # Later requests are answered from the cache, not rendered again: other bytes put in the
    # cached object are exactly what they return.
    stand_in = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(stand_in, "JPEG")
    svc.blobs.put(derived, cached, stand_in.getvalue(), content_type="image/jpeg")
    try:
        assert get(api, owner, study_thumbnail).content == stand_in.getvalue()
        assert get(api, owner, series_thumbnail).content == stand_in.getvalue()
    finally:
        svc.blobs.put(derived, cached, served[study_thumbnail], content_type="image/jpeg")
    # Other output parameters are another cached object.
    assert image(get(api, owner, f"{study_thumbnail}?viewport=32,32").content).size == (32, 32)
    assert len(list(svc.blobs.list(derived, prefix))) == 2


# -- errors, tenancy, authentication -----------------------------------------------------------------------------


def resources(sample: Sample) -> list[str]:
    study, series = f"{ROOT}/studies/{sample.study}", f"{ROOT}/studies/{sample.study}/series/{sample.series}"
    return [study, f"{study}/metadata", f"{study}/rendered", f"{study}/thumbnail",
            series, f"{series}/metadata", f"{series}/rendered", f"{series}/thumbnail",
            sample.path, f"{sample.path}/metadata", f"{sample.path}/rendered", f"{sample.path}/thumbnail",
            f"{sample.path}/frames/1", f"{sample.path}/frames/1/rendered", f"{sample.path}/bulkdata/7FE00010"]


def test_another_tenants_uids_are_not_found(api, make_tenant, owner, samples):
    other = make_tenant()
    for path in resources(samples["CT_small.dcm"]):
        assert get(api, owner, path).status_code == 200, path
        response = get(api, other, path)
        assert response.status_code == 404, path
        assert response.json()["error"]["type"] == "not_found"


def test_unknown_uids_are_404_and_invalid_ones_400(api, owner, samples):
    sample = samples["CT_small.dcm"]
    unknown = generate_uid()
    for path in (f"{ROOT}/studies/{unknown}", f"{ROOT}/studies/{sample.study}/series/{unknown}",
                 f"{ROOT}/studies/{sample.study}/series/{sample.series}/instances/{unknown}/metadata",
                 f"{ROOT}/studies/{unknown}/series/{sample.series}/instances/{sample.sop}"):
        assert get(api, owner, path).status_code == 404, path
    assert get(api, owner, f"{ROOT}/studies/1.02.3/metadata").status_code == 400


def test_bytes_without_a_catalog_record_are_not_found(api, svc, owner):
    ds = ct_instance()
    name = layout.instance_object(owner.id, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    svc.blobs.put(svc.settings.bucket("dicom"), name, part10_bytes(ds), content_type="application/dicom")
    path = f"{ROOT}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"
    assert get(api, owner, path).status_code == 404


def test_unauthenticated_and_wrong_scope(api, make_tenant, samples):
    writer = make_tenant(scopes=["studies:write"])
    for path in resources(samples["CT_small.dcm"]):
        assert api.get(path).status_code == 401, path
        response = api.get(path, headers=writer.headers)
        assert response.status_code == 403 and "studies:read" in response.json()["error"]["message"]


# -- HTTP: caching, CORS, audit -------------------------------------------------------------------------------------


def test_etag_and_not_modified(api, owner, samples):
    for path in resources(samples["CT_small.dcm"]):
        response = get(api, owner, path)
        etag = response.headers["ETag"]
        assert etag.startswith('"') and not etag.startswith("W/"), path
        assert response.headers["Cache-Control"] == "private, no-store"
        again = get(api, owner, path, **{"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag, path
        assert get(api, owner, path, **{"If-None-Match": '"other"'}).status_code == 200
    jpeg = samples["SC_rgb_jpeg_dcmtk.dcm"].path  # default: transcoded; transfer-syntax=*: as stored
    assert get(api, owner, jpeg).headers["ETag"] != get(api, owner, jpeg, AS_STORED).headers["ETag"]
    study = f"{ROOT}/studies/{samples['CT_small.dcm'].study}"
    assert get(api, owner, study).content == get(api, owner, study).content  # strong: byte-identical


def test_cache_control_is_never_public(api, owner, samples):
    for path in resources(samples["CT_small.dcm"]) + [f"{samples['CT_small.dcm'].path}/frames/9"]:
        for accept in (None, "image/gif"):
            cache_control = get(api, owner, path, accept).headers["Cache-Control"]
            assert "public" not in cache_control and "no-store" in cache_control, path


def test_cors_preflight_and_responses(api, owner, samples):
    path = f"{samples['CT_small.dcm'].path}/frames/1"
    preflight = api.request("OPTIONS", path, headers={
        "Origin": VIEWER, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization,accept"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == VIEWER
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert int(preflight.headers["Access-Control-Max-Age"]) > 0
    refused = api.request("OPTIONS", path, headers={"Origin": "https://evil.example",
                                                    "Access-Control-Request-Method": "GET"})
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    response = get(api, owner, path, Origin=VIEWER)
    assert response.headers["Access-Control-Allow-Origin"] == VIEWER
    assert {"Content-Type", "ETag", "Warning"} <= set(response.headers["Access-Control-Expose-Headers"].split(", "))
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert "Access-Control-Allow-Origin" not in get(api, owner, path, Origin="https://evil.example").headers
    assert api.get(path, headers={"Origin": VIEWER}).headers["Access-Control-Allow-Origin"] == VIEWER  # even a 401


def test_every_retrieval_is_audited_as_phi_access(api, svc, owner, study):
    uid = study[0].StudyInstanceUID
    expected = {uid: "110104", f"{uid}/metadata": "110103", f"{uid}/rendered": "110103"}
    request_ids = {get(api, owner, f"{ROOT}/studies/{suffix}").headers["X-Request-Id"]: code
                   for suffix, code in expected.items()}
    trail = svc.metadata.query(Query(collection=owner.scope.collection("audit_events")))
    records = {r.data["requestId"]: r.data for r in trail}
    for request_id, code in request_ids.items():
        record = records[request_id]
        assert record["eventCode"] == code and record["phi"] is True
        assert record["resources"]["studies"] == [uid]
    retrieve = records[next(iter(request_ids))]
    assert retrieve["resources"]["instances"] == [ds.SOPInstanceUID for ds in study]


def test_a_stored_decompression_bomb_is_refused_before_any_decode(api, svc, tenant):
    """An instance stored before the ingest limit existed (written straight to the bucket and the
    catalog here): renders, thumbnails, uncompressed frames and transcoding refuse it with a 406
    that names the limit, checked on its header before any decoder runs. As stored, it is served."""
    bomb = decompression_bomb(frames=2)
    raw = part10_bytes(bomb)
    study, series, sop = str(bomb.StudyInstanceUID), str(bomb.SeriesInstanceUID), str(bomb.SOPInstanceUID)
    parsed = parse_instance(io.BytesIO(raw), limits=PixelLimits(decode=2**40, instance=2**40))
    blob = layout.instance_object(tenant.id, study, series, sop)
    svc.blobs.put(svc.settings.bucket("dicom"), blob, raw, content_type="application/dicom")
    commit_instances(svc.metadata, tenant.scope, [parsed], {sop: blob}, new_objects={sop})
    base = f"{ROOT}/studies/{study}/series/{series}/instances/{sop}"
    octets = 'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1'
    for path, accept in [(f"{base}/rendered", "image/jpeg"), (f"{base}/frames/2/rendered", "image/png"),
                         (f"{ROOT}/studies/{study}/thumbnail", "image/jpeg"), (f"{base}/frames/1", octets),
                         (base, 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1')]:
        response = get(api, tenant, path, accept)
        assert response.status_code == 406, (path, response.text)
        assert "over this server's limit of 134217728 pixel samples" in response.text, path
    as_stored = get(api, tenant, f"{base}/frames/1", 'multipart/related; type="application/octet-stream"; '
                    'transfer-syntax=*')
    assert as_stored.status_code == 200 and parts(as_stored)[0][1].startswith(b"\xff\x4f\xff\x51")
