"""AI results made with highdicom round trip: a Segmentation and a Comprehensive SR of a sandbox
CT, stored with dicomweb-client straight from memory, found by QIDO-RS, retrieved and read back
by highdicom with the same content, and the SEG's frames retrieved."""

from __future__ import annotations

import highdicom as hd
import numpy as np
import pytest
from dicomweb_client import DICOMwebClient
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from beamit.sandbox import SandboxConfig, generate_study
from beamit.sandbox.config import Kind

SEGMENTATION = "1.2.840.10008.5.1.4.1.1.66.4"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"


@pytest.fixture(scope="module")
def ct(stack, svc):
    """A sandbox CT of 4 slices, stored by a fresh tenant; its client and datasets."""
    from tests.support import new_tenant

    tenant = new_tenant(svc)
    study = generate_study(23, 0, SandboxConfig(kinds=(Kind.CT,), scale=0.125, ct_slices=4))
    datasets = sorted(study.datasets(), key=lambda ds: int(ds.InstanceNumber))
    client = DICOMwebClient(f"{stack.url}/v1/dicomweb", headers=tenant.headers)
    client.store_instances(datasets)
    return client, datasets


def _algorithm() -> hd.AlgorithmIdentificationSequence:
    return hd.AlgorithmIdentificationSequence(name="BeamIt test", version="1.0",
                                              family=codes.cid7162.ArtificialIntelligence)


def _segmentation(datasets) -> hd.seg.Segmentation:
    mask = np.zeros((len(datasets), datasets[0].Rows, datasets[0].Columns), dtype=bool)
    mask[1:3, 10:30, 12:40] = True  # two slices carry the finding
    description = hd.seg.SegmentDescription(
        segment_number=1, segment_label="lesion",
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=codes.SCT.Neoplasm, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=_algorithm())
    return hd.seg.Segmentation(
        source_images=datasets, pixel_array=mask, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[description], series_instance_uid=generate_uid(), series_number=900,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer="BeamIt", manufacturer_model_name="test",
        software_versions="1", device_serial_number="1", omit_empty_frames=True)


def _report(datasets) -> hd.sr.ComprehensiveSR:
    source = datasets[1]
    region = hd.sr.ImageRegion(
        graphic_type=hd.sr.GraphicTypeValues.POLYLINE,
        graphic_data=np.array([[12.0, 10.0], [40.0, 10.0], [40.0, 30.0], [12.0, 30.0], [12.0, 10.0]]),
        source_image=hd.sr.SourceImageForRegion.from_source_image(source))
    measurement = hd.sr.Measurement(name=codes.SCT.Area, value=560.0, unit=codes.UCUM.SquareMillimeter)
    group = hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(), identifier="lesion 1"),
        referenced_region=region, finding_type=codes.SCT.Neoplasm, measurements=[measurement])
    content = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(
            observer_device_context=hd.sr.ObserverContext(
                observer_type=codes.DCM.Device,
                observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(uid=generate_uid()))),
        procedure_reported=codes.LN.CTUnspecifiedBodyRegion, imaging_measurements=[group])
    return hd.sr.ComprehensiveSR(
        evidence=datasets, content=content[0], series_instance_uid=generate_uid(), series_number=901,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer="BeamIt")


def test_highdicom_seg_and_sr_round_trip(ct):
    client, datasets = ct
    study = datasets[0].StudyInstanceUID
    seg, sr = _segmentation(datasets), _report(datasets)

    stored = client.store_instances([seg, sr])

    assert {i.ReferencedSOPInstanceUID for i in stored.ReferencedSOPSequence} == {seg.SOPInstanceUID,
                                                                                  sr.SOPInstanceUID}
    found = client.search_for_instances(study, search_filters={"SOPClassUID": SEGMENTATION})
    assert [i["00080018"]["Value"][0] for i in found] == [seg.SOPInstanceUID]
    modalities = {s["00080060"]["Value"][0] for s in client.search_for_series(study)}
    assert {"CT", "SEG", "SR"} <= modalities
    assert client.search_for_instances(study, search_filters={"SOPClassUID": COMPREHENSIVE_SR})

    # The SEG, read back by highdicom: same segment, same mask on the same source slices.
    back = hd.seg.Segmentation.from_dataset(
        client.retrieve_instance(study, seg.SeriesInstanceUID, seg.SOPInstanceUID))
    assert back.get_segment_description(1).segment_label == "lesion"
    sources = [ds.SOPInstanceUID for ds in datasets]
    assert np.array_equal(back.get_pixels_by_source_instance(sources, segment_numbers=[1]),
                          seg.get_pixels_by_source_instance(sources, segment_numbers=[1]))
    # Its frames, as dicomweb-client asks for them (uncompressed, application/octet-stream).
    frames = client.retrieve_instance_frames(study, seg.SeriesInstanceUID, seg.SOPInstanceUID,
                                             frame_numbers=list(range(1, int(seg.NumberOfFrames) + 1)))
    assert len(frames) == int(seg.NumberOfFrames)
    unpacked = np.stack([np.unpackbits(np.frombuffer(f, np.uint8), bitorder="little")[: seg.Rows * seg.Columns]
                         for f in frames]).reshape(-1, seg.Rows, seg.Columns)
    assert np.array_equal(unpacked.astype(bool), seg.pixel_array.astype(bool))

    # The SR, read back by highdicom: the same measurement of the same finding.
    report = hd.sr.ComprehensiveSR.from_dataset(
        client.retrieve_instance(study, sr.SeriesInstanceUID, sr.SOPInstanceUID))
    (group,) = report.content.get_planar_roi_measurement_groups()
    (area,) = group.get_measurements(name=codes.SCT.Area)
    assert area.value == 560.0 and area.unit == codes.UCUM.SquareMillimeter
    assert group.finding_type == codes.SCT.Neoplasm
