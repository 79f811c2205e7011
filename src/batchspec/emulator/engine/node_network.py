"""How the nodes of a multi-instance task name and reach each other on this machine.

Batch lists the nodes' IP addresses in AZ_BATCH_HOST_LIST and MPI launchers reach them with
ssh. Here every node is named by a loopback address of its own, and an instance's `ssh` (first
on its PATH, and Open MPI's rsh agent) is engine/node_shell.py, which runs the command in the
named node's environment, found in the task's host table. docs/emulator.md says what is
simulated.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from batchspec.emulator.engine.node_shell import HOSTS_VARIABLE
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc

# Batch's example value of AZ_BATCH_MASTER_NODE is `10.0.0.4:6000`: the port is Batch's own.
MASTER_PORT = 6000


def node_address(node: Doc) -> str:
    """The node's own loopback address: 127.0.1.N for the node whose ipAddress is 10.0.0.N."""
    return "127.0.1." + str(node.get("ipAddress") or "0.0.0.4").rsplit(".", 1)[-1]


def install_agent(data_dir: Path) -> Path:
    """The `ssh` of local nodes: a script that runs node_shell with this service's Python."""
    bin_dir = data_dir / "bin"
    agent = bin_dir / "ssh"
    python = shlex.quote(sys.executable)
    text = f'#!/bin/sh\nexec {python} -I -m batchspec.emulator.engine.node_shell "$@"\n'
    if not agent.exists() or agent.read_text() != text:
        bin_dir.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a task of another pool may be running the current one.
        fresh = bin_dir / f".ssh.{os.getpid()}"
        fresh.write_text(text)
        fresh.chmod(0o700)
        fresh.replace(agent)
    return agent


def instance_environment(
    base: dict[str, str], addresses: list[str], index: int, shared: Path, agent: Path, table: Path
) -> dict[str, str]:
    """Batch's multi-instance variables, and what makes MPI launch between local nodes."""
    env = dict(base)
    env.update(
        {
            "AZ_BATCH_HOST_LIST": ",".join(addresses),
            "AZ_BATCH_NODE_LIST": ";".join(addresses),
            "AZ_BATCH_MASTER_NODE": f"{addresses[0]}:{MASTER_PORT}",
            "AZ_BATCH_IS_CURRENT_NODE_MASTER": "true" if index == 0 else "false",
            "AZ_BATCH_TASK_SHARED_DIR": str(shared),
            "CCP_NODES": " ".join([str(len(addresses)), *(f"{a} 1" for a in addresses)]),
            "PATH": f"{agent.parent}{os.pathsep}{base.get('PATH', '')}",
            HOSTS_VARIABLE: str(table),
        }
    )
    # Open MPI between nodes that share one machine: the agent instead of ssh, TCP over the
    # loopback interface (which it leaves out by default), and no hwloc shared-memory topology
    # (Open MPI 4.1's orted crashed in hwloc_shmem_topology_write here). A task's own win.
    defaults = {
        "OMPI_MCA_plm_rsh_agent": str(agent),
        "OMPI_MCA_btl_tcp_if_include": "lo",
        "OMPI_MCA_oob_tcp_if_include": "lo",
        "OMPI_MCA_rtc": "^hwloc",
    }
    if os.geteuid() == 0:
        # Tasks run as the service's user; as root Open MPI refuses to start unless told
        # (a Batch task runs as the non-admin _azbatch user unless elevated).
        defaults |= {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    for name, value in defaults.items():
        env.setdefault(name, value)
    return env


def table_path(live: Live, job_id: str, task_id: str) -> Path:
    """The host table of a running task: node address -> its environment and directory."""
    return live.data_dir / "multi-instance" / job_id / f"{task_id}.json"


def write_table(path: Path, hosts: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(hosts))
    tmp.replace(path)
