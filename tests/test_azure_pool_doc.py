"""The mounts/network/identity example in docs/batch-mapping.md validates and plans as shown."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from batchspec.cli import main

DOC = Path(__file__).resolve().parent.parent / "docs" / "batch-mapping.md"
SECTION = "## Pool mounts, network and managed identities"


def _example(tmp_path: Path) -> Path:
    text = DOC.read_text().split(SECTION, 1)[1]
    block = re.search(r"```yaml\n(.*?)```", text, re.DOTALL)
    assert block is not None
    spec = tmp_path / "aligners.yaml"
    job = 'job:\n  id: "align-{{ run.id }}"\n  tasks:\n    - {id: align, command: /bin/true}\n'
    spec.write_text(f"batchspec: 1\nname: aligners\n{block.group(1)}{job}")
    return spec


def test_the_documented_example_validates_and_plans_as_batch_receives_it(tmp_path: Path) -> None:
    spec = _example(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    result = runner.invoke(main, ["plan", "--format", "json", str(spec)])
    assert result.exit_code == 0, result.output
    pool = json.loads(result.stdout)["pool"]
    blob, shared, nfs = pool["mount_configuration"]
    assert blob["azure_blob_file_system_configuration"]["container_name"] == "genomes-ref"
    assert blob["azure_blob_file_system_configuration"]["sas_key"].startswith("<redacted")
    assert shared["azure_blob_file_system_configuration"]["identity_reference"]["resource_id"]
    assert nfs["nfs_mount_configuration"]["mount_options"] == "-o vers=4.1"
    public = pool["network_configuration"]["public_ip_address_configuration"]
    assert public["ip_address_provisioning_type"] == "nopublicipaddresses"
    assert pool["identity"]["type"] == "UserAssigned"
    text = runner.invoke(main, ["plan", str(spec)]).stdout
    assert "mount nfs 10.0.0.4:/exports/scratch at $AZ_BATCH_NODE_MOUNTS_DIR/scratch" in text
    assert "network: subnet /subscriptions/" in text
