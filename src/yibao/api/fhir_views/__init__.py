"""FHIR R4 views (R4B models of ``fhir.resources``) of persons, coverage, institutions and adjudication.

Every literal reference in a served resource resolves on this server (``GET /fhir/<type>/<id>``); what has
no resource here is referred to by identifier only (a logical reference). Resource ids:

- ``Patient/<psn_no>``: the insured person (参保人);
- ``Coverage/<psn_no>-<insutype>-<begndate YYYYMMDD>``: one enrollment (参保登记). Should a person hold
  two enrollments of one insurance type begun on the same day, the one registered later carries ``-2``
  (``-3`` …): ids are given in registration order, so an id never changes once given;
- ``Organization/<fixmedins_code>``: a designated institution (定点医药机构);
- ``Organization/bureau-<admdvs>``: the medical security bureau (医疗保障局) of a pooling region, the
  insurer and payor;
- ``ClaimResponse/<setl_id>`` and ``ExplanationOfBenefit/<setl_id>``: one settlement (结算) or reversal.

Modules: :mod:`.common` (shared values, bundles, OperationOutcome), :mod:`.parties` (Patient,
Organization), :mod:`.coverage`, :mod:`.adjudication` (ClaimResponse, ExplanationOfBenefit),
:mod:`.capability` (the CapabilityStatement) and :mod:`.reads` (what they read from the database).
"""
