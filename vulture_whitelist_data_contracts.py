# vulture false positives in data_contracts/ (each name is used; vulture sees one folder at a time)
from data_contracts import contract, gx_suite, mapping, policy, reference_tables

contract.EXTRACTS  # noqa: B018 - re-exported by metrics/config.py, read by the build, the sample and the tests
contract.Code.worker_type  # noqa: B018 - loaded into ref_codes by metrics/warehouse.py
contract.Code.sort_order  # noqa: B018 - loaded into ref_codes by metrics/warehouse.py
gx_suite.GxRunner.progress_bars  # noqa: B018 - set on great-expectations' context variables to silence its bars
mapping.load_mapping  # noqa: B018 - called by metrics/warehouse.py (eqdash build --mapping) and sample_data/hr_export.py
mapping.write_mapped  # noqa: B018 - called by sample_data/hr_export.py (the hr-export sample)
mapping.Mapping.quarantine_thresholds  # noqa: B018 - passed to check_policy by metrics/warehouse.py
policy.check_policy  # noqa: B018 - called by metrics/warehouse.py after validation
policy.raise_if_breached  # noqa: B018 - called by metrics/warehouse.py after validation
policy.Breach.reason  # noqa: B018 - the breach kind (share, whole_extract, whole_column), pinned by tests/data_contracts
reference_tables.validate_reference  # noqa: B018 - called by metrics/warehouse.py (benchmarks)
reference_tables.ReferenceResult.ho_workforce  # noqa: B018 - loaded as raw_ho_workforce by metrics/warehouse.py
reference_tables.ReferenceResult.census_population  # noqa: B018 - loaded as raw_census_population by metrics/warehouse.py
reference_tables.ReferenceResult.audit  # noqa: B018 - loaded as benchmark_audit by metrics/warehouse.py
