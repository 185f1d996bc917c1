"""Loading reports imports only the report types they name, and no pyarrow.

Runs in a fresh interpreter so that nothing imported by other tests hides an import.
"""

import json
import subprocess
import sys
import textwrap

from reports_pipeline_tests.report_files import report_dict, write_report

PROBE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from reports_pipeline.report_types import registry
    from reports_pipeline.spec.loader import load_project

    project = load_project([Path(sys.argv[1])], None)
    print(json.dumps({
        "errors": [str(error) for error in project.errors],
        "modules": sorted(m for m in sys.modules if m.startswith("reports_pipeline.report_types.")),
        "pyarrow": "pyarrow" in sys.modules,
        "entry_points_read": registry._installed.cache_info().currsize > 0,
    }))
    """
)


def probe(folder) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_sql_reports_import_no_type(tmp_path):
    write_report(tmp_path, report_dict(name="plain"))
    loaded = probe(tmp_path)
    assert loaded["errors"] == []
    assert loaded["modules"] == [
        "reports_pipeline.report_types.definition",
        "reports_pipeline.report_types.registry",
    ]
    assert not loaded["pyarrow"] and not loaded["entry_points_read"]


def test_a_shipped_type_imports_its_module_only_and_reads_no_entry_points(tmp_path):
    for index in range(50):
        source = {"report_type": "invoice_aging", "params": {"buckets": [10 + index]}}
        owner = f"owner{index}@example.com"  # one each: the policy caps reports per owner
        write_report(tmp_path, report_dict(name=f"aging_{index}", owner=owner, source=source))
    loaded = probe(tmp_path)
    assert loaded["errors"] == []
    assert "reports_pipeline.report_types.invoice_aging" in loaded["modules"]
    assert "reports_pipeline.report_types.top_customers" not in loaded["modules"]
    assert not loaded["pyarrow"] and not loaded["entry_points_read"]


WORKER_PROBE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from reports_pipeline.definitions import build_one_job

    job = build_one_job("aging", Path(sys.argv[1]), Path(sys.argv[2]))
    print(json.dumps({
        "job": job.name,
        "modules": sorted(m for m in sys.modules if m.startswith("reports_pipeline.report_types.")),
    }))
    """
)


def test_a_run_worker_imports_the_type_of_its_own_report_only(tmp_path):
    aging = write_report(
        tmp_path, report_dict(name="aging", source={"report_type": "invoice_aging"})
    )
    write_report(tmp_path, report_dict(name="top", source={"report_type": "top_customers"}))
    done = subprocess.run(
        [sys.executable, "-c", WORKER_PROBE, str(aging), str(tmp_path / "none.yaml")],
        capture_output=True,
        text=True,
        check=True,
    )
    built = json.loads(done.stdout.splitlines()[-1])
    assert built["job"] == "aging"
    assert "reports_pipeline.report_types.invoice_aging" in built["modules"]
    assert "reports_pipeline.report_types.top_customers" not in built["modules"]
