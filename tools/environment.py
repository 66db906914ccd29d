"""Describe a machine in the terms that decide floating-point rounding, and compare two of them.

The book's stored outputs were recorded on one machine (the *reference environment*, kept in
``tools/reference_environment.json`` and shown on the Reproducibility page). A reader's numbers can
differ from it for a handful of reasons only: another CPU vendor or instruction set (other kernels,
other summation orders), oneDNN on or off, a GPU (cuDNN), other thread counts, other package
versions. :func:`machine_report` records each of them; :func:`likely_causes` names the ones in which
two reports differ.

Usage::

    python -m tools.environment               # print this machine's report as JSON
    python -m tools.environment --reference   # write it to tools/reference_environment.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

__all__ = [
    "PACKAGES",
    "ENV_VARS",
    "REFERENCE",
    "package_versions",
    "machine_report",
    "load_reference",
    "likely_causes",
    "main",
]

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tools" / "reference_environment.json"

#: Distributions whose versions decide the numbers (first) or the checking (last).
PACKAGES = (
    "tensorflow-cpu",
    "tensorflow",
    "keras",
    "numpy",
    "scipy",
    "scikit-learn",
    "matplotlib",
    "ml-dtypes",
    "nbval",
    "nbclient",
    "ipykernel",
    "jupyterlab",
)

#: Environment variables that change floating-point rounding without changing the math.
ENV_VARS = (
    "TF_ENABLE_ONEDNN_OPTS",
    "ONEDNN_MAX_CPU_ISA",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "CUDA_VISIBLE_DEVICES",
    "NVIDIA_TF32_OVERRIDE",
    "TF_SET_ONEDNN_FPMATH_MODE",
    "ONEDNN_DEFAULT_FPMATH_MODE",
    "DNNL_DEFAULT_FPMATH_MODE",
    "NNLIB_PERTURB",
)

#: The instruction-set extensions that select different numerical kernels (in increasing order).
ISA_FLAGS = (
    "sse4_2",
    "avx",
    "fma",
    "avx2",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_bf16",
    "amx_tile",
)


def _cpuinfo() -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if ":" in line:
                    key, value = (s.strip() for s in line.split(":", 1))
                    info.setdefault(key, value)  # the first processor is enough
                elif info:
                    break
    except OSError:
        pass
    return info


def _vendor(cpuinfo: dict[str, str]) -> str:
    vendor_id = cpuinfo.get("vendor_id", "")
    return {"GenuineIntel": "Intel", "AuthenticAMD": "AMD"}.get(
        vendor_id, vendor_id or platform.machine()
    )


def _tensorflow_facts() -> dict[str, object]:
    """oneDNN state and accelerators as TensorFlow sees them (imports TensorFlow quietly)."""
    try:
        from nnlib.repro import import_tensorflow

        tf = import_tensorflow()
    except ImportError:  # a reader without TensorFlow still gets a report
        return {"onednn": None, "gpus": [], "tensorflow_built_with_cuda": None}
    from tensorflow.python.util import _pywrap_util_port as port

    gpus = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        cc = details.get("compute_capability")
        gpus.append(
            details.get("device_name", gpu.name)
            + (f" (compute capability {cc[0]}.{cc[1]})" if cc else "")
        )
    return {
        "onednn": bool(port.IsMklEnabled()),
        "gpus": gpus,
        "tensorflow_built_with_cuda": bool(tf.test.is_built_with_cuda()),
    }


def _blas() -> str | None:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    import numpy  # noqa: F401  (loads its BLAS so threadpoolctl can see it)

    pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
    # NumPy's own BLAS (SciPy may load another one; which comes first depends on import order).
    pools.sort(key=lambda pool: "numpy" not in str(pool.get("filepath", "")))
    for pool in pools[:1]:
        return (
            f"{pool.get('internal_api')} {pool.get('version')} "
            f"({pool.get('architecture')}, {pool.get('num_threads')} threads)"
        )
    return None


def package_versions(names: tuple[str, ...]) -> dict[str, str]:
    """``{distribution: version}`` for the installed ones among ``names``."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def machine_report() -> dict[str, object]:
    """Everything about this machine that can change a printed digit, as a JSON-ready ``dict``.

    Keys: ``python``, ``platform``, ``cpu``, ``cpu_vendor``, ``isa`` (the extensions of
    :data:`ISA_FLAGS` the CPU has), ``cpu_count``, ``onednn`` (TensorFlow's oneDNN custom operations
    on?), ``gpus``, ``tensorflow_built_with_cuda``, ``blas``, ``packages`` and ``env`` (the
    variables of :data:`ENV_VARS` that are set).
    """
    cpuinfo = _cpuinfo()
    flags = set(cpuinfo.get("flags", "").split())
    packages = package_versions(PACKAGES)
    report: dict[str, object] = {
        "python": sys.version.split()[0],
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu": cpuinfo.get("model name", platform.processor() or platform.machine()),
        "cpu_vendor": _vendor(cpuinfo),
        "isa": [flag for flag in ISA_FLAGS if flag in flags],
        "cpu_count": os.cpu_count(),
    }
    report.update(_tensorflow_facts())
    report["blas"] = _blas()
    report["packages"] = packages
    report["env"] = {name: os.environ[name] for name in ENV_VARS if name in os.environ}
    return report


def load_reference(path: str | os.PathLike = REFERENCE) -> dict[str, object]:
    """The reference environment: the machine that recorded the book's stored outputs."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def likely_causes(mine: dict, reference: dict) -> list[str]:
    """The differences between two :func:`machine_report` dicts that can change printed digits.

    Returns:
        One sentence per difference, most likely cause first; empty when the machines match in
        every respect that matters.
    """
    causes = []
    if mine.get("gpus") and not reference.get("gpus"):
        causes.append(
            "a GPU runs the TensorFlow operations here (cuDNN/cuBLAS kernels sum in other orders; "
            "TF32 is not the cause: nnlib.repro.seed_everything turns it off): "
            f"{', '.join(mine['gpus'])}"
        )
    elif mine.get("gpus") != reference.get("gpus"):
        causes.append(
            f"other GPUs: {mine.get('gpus')} here, {reference.get('gpus')} in the reference"
        )
    if mine.get("cpu_vendor") != reference.get("cpu_vendor"):
        causes.append(
            f"another CPU vendor ({mine.get('cpu_vendor')} here, {reference.get('cpu_vendor')} in the "
            "reference): other vendor-tuned kernels round differently"
        )
    if mine.get("onednn") != reference.get("onednn"):
        state = {True: "on", False: "off", None: "unknown"}
        causes.append(
            f"TensorFlow's oneDNN custom operations are {state[mine.get('onednn')]} here and "
            f"{state[reference.get('onednn')]} in the reference (TF_ENABLE_ONEDNN_OPTS)"
        )
    if mine.get("isa") != reference.get("isa"):
        causes.append(
            f"another instruction set: {' '.join(mine.get('isa') or []) or 'none listed'} here, "
            f"{' '.join(reference.get('isa') or [])} in the reference (wider vectors sum in other orders)"
        )
    if mine.get("cpu") != reference.get("cpu") and mine.get("cpu_vendor") == reference.get(
        "cpu_vendor"
    ):
        causes.append(
            f"another CPU model: {mine.get('cpu')} here, {reference.get('cpu')} in the reference"
        )
    mine_pkgs, ref_pkgs = mine.get("packages", {}), reference.get("packages", {})
    changed = [
        f"{name} {mine_pkgs.get(name, 'missing')} (reference {ref_pkgs[name]})"
        for name in ref_pkgs
        if mine_pkgs.get(name) != ref_pkgs[name] and name in mine_pkgs
    ]
    if changed:
        causes.append("other package versions: " + ", ".join(changed))
    if mine.get("blas") != reference.get("blas"):
        causes.append(
            f"another BLAS for NumPy: {mine.get('blas')} here, {reference.get('blas')} in the reference"
        )
    env_mine, env_ref = mine.get("env", {}), reference.get("env", {})
    env_diff = sorted(k for k in set(env_mine) | set(env_ref) if env_mine.get(k) != env_ref.get(k))
    if env_diff:
        causes.append(
            "environment variables that change rounding: "
            + ", ".join(
                f"{k}={env_mine.get(k, '(unset)')} (reference {env_ref.get(k, '(unset)')})"
                for k in env_diff
            )
        )
    if mine.get("cpu_count") != reference.get("cpu_count"):
        causes.append(
            f"{mine.get('cpu_count')} CPU threads here, {reference.get('cpu_count')} in the reference "
            "(other thread counts split reductions differently)"
        )
    return causes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.environment", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--reference",
        action="store_true",
        help=f"write the report to {REFERENCE.relative_to(ROOT)} (the machine that recorded the outputs)",
    )
    args = parser.parse_args(argv)
    report = machine_report()
    text = json.dumps(report, indent=2) + "\n"
    if args.reference:
        REFERENCE.write_text(text, encoding="utf-8")
        print(f"wrote {REFERENCE.relative_to(ROOT)}")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
