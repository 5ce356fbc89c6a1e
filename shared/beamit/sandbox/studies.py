"""Study assembly: which patient, which procedure, when, and which series (PS3.3 §A.1.2).

Study ``index`` of generator ``seed`` is planned on its own (:func:`plan_study`), from random
generators seeded with ``(seed, index, ...)``, so any study can be made without the ones
before it, in any order or in parallel, and always comes out the same.

* Kind: the imaging kinds of the configuration in turn (study 0 the first, study 1 the
  second ...), plus one report series per report kind.
* Patient: studies are taken in blocks of :data:`PATIENT_BLOCK`; within a block a study
  belongs to a new patient, or (30 %) to one of the block's earlier patients, so patients
  have one to four studies.  A patient's character set is the configuration's
  ``character_sets`` in turn.
* Study Date: uniform over ``config.study_years`` (after the patient's birth), Study Time
  between 07:00 and 19:00.
* Patient and General Study modules (PS3.3 §C.7.1.1, §C.7.2.1, §C.7.2.2): the attributes
  below; Accession Number ``SYN<seed mod 1000><index>``, unique within a seed.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable

from beamit.sandbox.config import Kind, SandboxConfig
from beamit.sandbox.imaging import CT_PROTOCOLS, MR_PROTOCOLS, US_PROTOCOLS, plan_ct, plan_mr, plan_us
from beamit.sandbox.patients import Patient, synthetic_patient
from beamit.sandbox.plan import Protocol, SeriesPlan, StudyContext, StudyPlan, Value
from beamit.sandbox.projection import CR_PROTOCOLS, DX_PROTOCOLS, plan_cr, plan_dx
from beamit.sandbox.reports import plan_pdf, plan_sr, report_text

__all__ = ["PATIENT_BLOCK", "PROTOCOLS", "REPORT_ONLY", "patient_of_study", "plan_study"]

PATIENT_BLOCK = 4
PROTOCOLS: dict[Kind, tuple[Protocol, ...]] = {
    Kind.CT: CT_PROTOCOLS,
    Kind.MR: MR_PROTOCOLS,
    Kind.US: US_PROTOCOLS,
    Kind.CR: CR_PROTOCOLS,
    Kind.DX: DX_PROTOCOLS,
}
REPORT_ONLY = Protocol(None, "RADIOLOGY CONSULTATION", None, "consultation")
"""The procedure of a study made only of reports (no imaging kind configured)."""

_PLANNERS: dict[Kind, Callable[[StudyContext], list[SeriesPlan]]] = {
    Kind.CT: plan_ct,
    Kind.MR: plan_mr,
    Kind.US: plan_us,
    Kind.CR: plan_cr,
    Kind.DX: plan_dx,
}
_SHARED_PATIENT = 0.3


def patient_of_study(seed: int, index: int, config: SandboxConfig) -> Patient:
    """The patient of study ``index``."""
    block, position = divmod(index, PATIENT_BLOCK)
    rng = random.Random(f"beamit-sandbox/{seed}/patients/{block}")
    slots = [0]
    for _ in range(1, PATIENT_BLOCK):
        slots.append(rng.choice(slots) if rng.random() < _SHARED_PATIENT else max(slots) + 1)
    slot = slots[position]
    charsets = config.character_sets
    return synthetic_patient(seed, block * PATIENT_BLOCK + slot, charsets[(block + slot) % len(charsets)],
                             latest_birth_year=min(2010, config.study_years[0] - 1))


def _check(seed: int, index: int) -> None:
    if not 0 <= seed < 10**15:
        raise ValueError("seed must be an integer in [0, 10**15)")
    if not 0 <= index < 10**8:
        raise ValueError("study index must be in [0, 10**8)")


def plan_study(seed: int, index: int, config: SandboxConfig) -> StudyPlan:
    """The plan of study ``index`` (0-based) of generator ``seed``."""
    _check(seed, index)
    rng = random.Random(f"beamit-sandbox/{seed}/study/{index}")
    patient = patient_of_study(seed, index, config)
    imaging = config.imaging_kinds
    kind = imaging[index % len(imaging)] if imaging else None
    protocol = rng.choice(PROTOCOLS[kind]) if kind is not None else REPORT_ONLY
    first_year = max(config.study_years[0], patient.birth_date.year + 1)
    first = datetime.date(first_year, 1, 1).toordinal()
    last = datetime.date(max(config.study_years[1], first_year), 12, 31).toordinal()
    study_date = datetime.date.fromordinal(rng.randint(first, last))
    study_seconds = rng.randrange(7 * 3600, 19 * 3600)
    ctx = StudyContext(
        seed=seed,
        index=index,
        config=config,
        patient=patient,
        protocol=protocol,
        study_uid=StudyContext.study_uid_of(seed, index),
        study_date=study_date,
        study_seconds=study_seconds,
    )
    attributes: dict[str, Value] = {
        "SpecificCharacterSet": patient.specific_character_set,
        "StudyDate": ctx.date,
        "StudyTime": ctx.time(),
        "AccessionNumber": f"SYN{seed % 1000:03d}{index:08d}",
        "ReferringPhysicianName": patient.referring_physician,
        "StudyDescription": protocol.description,
        "PatientName": patient.name,
        "PatientID": patient.patient_id,
        "IssuerOfPatientID": "BEAMIT SANDBOX",
        "PatientBirthDate": patient.birth_date.strftime("%Y%m%d"),
        "PatientSex": patient.sex,
        "PatientAge": patient.age_on(study_date),
        "StudyInstanceUID": ctx.study_uid,
        "StudyID": str(rng.randint(1000, 99999)),
    }
    series: list[SeriesPlan] = _PLANNERS[kind](ctx) if kind is not None else []
    if config.report_kinds:
        text = report_text(ctx)
        if Kind.SR in config.report_kinds:
            series.append(plan_sr(ctx, text))
        if Kind.PDF in config.report_kinds:
            series.append(plan_pdf(ctx, text))
    return StudyPlan(seed, index, patient, protocol, attributes, tuple(series))
