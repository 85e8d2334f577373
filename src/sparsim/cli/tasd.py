"""``sparsim tasd``: decompose tensors into N:M series, list hardware patterns, run the study."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import numpy as np

from sparsim.cli.options import only_with, show_progress, within
from sparsim.errors import SparsimError, SpecError, UnknownNameError
from sparsim.io import atomic_output_dir, check_output_dir, input_file
from sparsim.limits import (
    MAX_FILE_BYTES,
    MAX_REPETITIONS,
    MAX_SERIES_TERMS,
    MAX_STUDY_ELEMENTS,
    check_at_most,
    check_elements,
)
from sparsim.report.tables import format_table

SERIES_HELP = (
    "N:M terms joined by '+', e.g. 2:4+2:8; N is the number of elements KEPT in every "
    "block of M; also 'dense' or 'none'"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tasd",
        help="structured decomposition of tensors into N:M series (TASD)",
        description=(
            "TASD (tensor approximation via structured decomposition) approximates a tensor "
            "by a sum of N:M structured tensors plus a residual, "
            "A = A1[2:4] + A2[2:8] + residual, so hardware that runs only N:M patterns can "
            "execute it term by term. In N:M, N is the number of elements KEPT per block of M."
        ),
        epilog=(
            "examples:\n"
            "  sparsim tasd decompose --random 128x128 --series 2:4+2:8\n"
            "  sparsim tasd patterns --hardware TTC-VEGETA-M8\n"
            "  sparsim tasd study --out tasd-study"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="tasd_command", metavar="COMMAND")
    parser.set_defaults(func=lambda args: _help(parser))
    _register_decompose(commands)
    _register_patterns(commands)
    _register_study(commands)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _register_decompose(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "decompose",
        help="decompose a tensor into an N:M series and print the error metrics",
        description=(
            "Decompose a tensor (a .npy/.npz file, a .pt/.pth tensor or state dict, or a random "
            "matrix) greedily into the terms of a series: each term keeps the N largest "
            "magnitudes of every block of M of what the earlier terms left. Prints the "
            "metrics after each added term."
        ),
        epilog=(
            "examples: sparsim tasd decompose weights.npy --series 2:4+2:8 --out tasd-out; "
            "sparsim tasd decompose --random 64x256 --density 0.3 --series 2:8"
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("input", nargs="?", metavar="TENSOR_FILE", help=".npy, .npz, .pt or .pth")
    source.add_argument(
        "--random",
        metavar="SHAPE",
        help="use a random tensor of this shape instead of a file, e.g. 128x128 (values "
        "N(0, 1), nonzero with probability --density)",
    )
    parser.add_argument("--series", required=True, help=SERIES_HELP)
    parser.add_argument(
        "--key", help="array name inside a .npz file or state dict (e.g. layer1.0.conv1.weight)"
    )
    parser.add_argument(
        "--axis",
        default="-1",
        help="axis along which the M-blocks run (default -1, the reduction axis of a "
        "[out, in] weight); comma-separated axes are flattened in that order, e.g. 1,2,3 "
        "for the C*R*S reduction of a conv weight [O, C, R, S]",
    )
    parser.add_argument(
        "--pad",
        action="store_true",
        help="pad the axis with zeros to a multiple of every M instead of refusing",
    )
    parser.add_argument(
        "--max-terms", type=int, default=3, help="most terms a series may have (default 3)"
    )
    parser.add_argument(
        "--b",
        metavar="B_FILE",
        help="right operand B (.npy, shape (K, N)) for the relative matmul error of A @ B",
    )
    parser.add_argument("--density", type=float, help="nonzero fraction of --random (default 0.5)")
    parser.add_argument("--seed", type=int, help="random seed of --random (default 0)")
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="write decomposition.npz (terms, residual, compressed values and indices) and "
        "metrics.csv to DIR",
    )
    parser.set_defaults(func=run_decompose)


def _register_patterns(commands: argparse._SubParsersAction) -> None:
    from sparsim.tasd.hardware import hardware_names

    parser = commands.add_parser(
        "patterns",
        help="N:M patterns each structured-sparse tensor core realises",
        description=(
            "For each hardware (or the one given): its native N:M patterns and, for every "
            "N:M with its block size, the series of native patterns with the fewest terms "
            "that realises it, with its effective density. STC: sparse tensor core; TTC: "
            "TASD tensor core; VEGETA-M4/M8: sparse tensor cores with native N:4 or N:8 patterns."
        ),
        epilog="example: sparsim tasd patterns --hardware TTC-STC-M4 --max-terms 3",
    )
    parser.add_argument(
        "--hardware",
        metavar="NAME",
        help=f"one of {', '.join(hardware_names())} (any case), or a design file (.yaml)",
    )
    parser.add_argument(
        "--max-terms", type=int, default=2, help="most terms per series (default 2)"
    )
    parser.set_defaults(func=run_patterns)


def _register_study(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "study",
        help="reproduce the TASD paper's synthetic study (CSV + PNG plots)",
        description=(
            "Random matrices at densities 0.1 ... 1.0 with N(0, 1/3) and U(0, 1) values: "
            "dropped nonzeros and dropped magnitude of 2:4, 2:4+2:8, 2:4+2:8+2:16 (with the "
            "closed-form expectation), and the relative matmul error of one-term N:4 and "
            "N:8 approximations. Prints the comparison with the TASD paper's figures "
            "(Section 3.2)."
        ),
        epilog="example: sparsim tasd study --out tasd-study --seeds 5",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument(
        "--seeds", type=int, default=20, help="random matrices per point (default 20)"
    )
    parser.add_argument("--size", type=int, default=128, help="matrix size of part 1 (default 128)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run_study)


# --- decompose ---------------------------------------------------------------------------


def _parse_axis(text: str) -> int | tuple[int, ...]:
    try:
        axes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise SpecError(
            f"expected an integer or comma-separated integers, got {text!r}", "--axis"
        ) from None
    if len(set(axes)) != len(axes):
        raise SpecError(f"an axis is given twice in {text!r}", "--axis")
    return axes[0] if len(axes) == 1 else axes


def _parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.lower().replace(",", "x").split("x"))
    except ValueError:
        shape = ()
    if not shape or any(s <= 0 for s in shape):
        raise SpecError(f"expected positive sizes such as 128x128, got {text!r}", "--random")
    check_elements(shape, "--random")
    return shape


def _max_terms(value: int) -> int:
    if value < 1:
        raise SpecError(f"must be >= 1, got {value}", "--max-terms")
    check_at_most(value, MAX_SERIES_TERMS, "series terms", "--max-terms")
    return value


def _checked_tensor(tensor: Any, where: str) -> Any:
    """A loaded tensor sparsim can decompose: not empty, not too big, finite values."""
    shape = tuple(tensor.shape)
    if 0 in shape:
        raise SpecError(f"the tensor is empty (shape {shape})", where)
    check_elements(shape, where)
    values = tensor if isinstance(tensor, np.ndarray) else tensor.float().numpy()
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise SpecError("the tensor holds NaN or infinite values", where)
    if values.dtype.kind not in "biuf":
        raise SpecError(f"expected a numeric tensor, got dtype {values.dtype}", where)
    return tensor


def _pick(arrays: dict[str, Any], key: str | None, where: str) -> Any:
    if key is None:
        if len(arrays) == 1:
            return next(iter(arrays.values()))
        names = ", ".join(list(arrays)[:8]) + (", ..." if len(arrays) > 8 else "")
        raise SpecError(f"holds {len(arrays)} arrays; choose one with --key ({names})", where)
    if key not in arrays:
        raise UnknownNameError(f"no array named {key!r} (--key)", where)
    return arrays[key]


def load_tensor(path: str, key: str | None = None) -> Any:
    """A numpy array or CPU torch tensor from .npy, .npz, .pt or .pth."""
    file = input_file(path, MAX_FILE_BYTES)
    suffix = file.suffix.lower()
    if key is not None and suffix == ".npy":
        raise SpecError("holds one array: --key selects one in a .npz or a state dict", path)
    try:
        if suffix == ".npy":  # mapped: its shape is checked before its data is read
            mapped = np.load(file, mmap_mode="r", allow_pickle=False)
            return np.array(_checked_tensor(mapped, path))
        if suffix == ".npz":
            with np.load(file, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
                return _checked_tensor(_pick(arrays, key, path), path)
        if suffix in (".pt", ".pth"):
            import torch

            loaded = torch.load(file, map_location="cpu", weights_only=True)
            if isinstance(loaded, torch.Tensor):
                return _checked_tensor(loaded, path)
            if isinstance(loaded, dict):
                tensors = {k: v for k, v in loaded.items() if isinstance(v, torch.Tensor)}
                return _checked_tensor(_pick(tensors, key, path), path)
            raise SpecError(f"holds a {type(loaded).__name__}, not a tensor", path)
    except SparsimError:
        raise
    except Exception as exc:  # numpy/torch loaders raise many types for a corrupt file
        if type(exc).__name__ == "UnpicklingError":  # torch's weights_only refusal
            raise SpecError(
                "holds Python objects besides tensors, which sparsim does not run (it loads "
                "with weights_only): save a tensor or a state dict (torch.save(t, path))",
                path,
            ) from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise SpecError(f"cannot read tensor ({type(exc).__name__}: {first[:200]})", path) from None
    raise SpecError(f"unknown file type {suffix!r}; use .npy, .npz, .pt or .pth", path)


def _random_tensor(shape: tuple[int, ...], density: float, seed: int) -> np.ndarray:
    within(density, 0, 1, "--density")
    if seed < 0:
        raise SpecError(f"must be a non-negative integer, got {seed}", "--seed")
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(shape).astype(np.float32)
    return np.where(rng.random(shape) < density, values, np.float32(0))


def _numpy_copy(tensor: Any) -> np.ndarray:
    """For saving: numpy as is; a torch tensor as numpy (bfloat16 widened to float32)."""
    if isinstance(tensor, np.ndarray):
        return tensor
    import torch

    return (tensor.float() if tensor.dtype == torch.bfloat16 else tensor).numpy()


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def _factor(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.2f}x"


def run_decompose(args: argparse.Namespace) -> int:
    from sparsim.tasd import decompose, evaluate, nonzero_density
    from sparsim.tasd.series import parse_series

    try:
        series = parse_series(args.series, max_terms=_max_terms(args.max_terms))
    except SparsimError as exc:
        raise exc.located("--series") from None
    axis = _parse_axis(args.axis)
    if args.random:
        only_with("a tensor file", {"--key": args.key})
    else:
        only_with("--random", {"--density": args.density, "--seed": args.seed})
    if args.out is not None:
        check_output_dir(args.out, "--out" if not args.out.strip() else None)
    if args.random:
        density = 0.5 if args.density is None else args.density
        seed = 0 if args.seed is None else args.seed
        x = _random_tensor(_parse_shape(args.random), density, seed)
        source = f"random {args.random} (density {density}, seed {seed})"
    else:
        x = load_tensor(args.input, args.key)
        source = args.input + (f" [{args.key}]" if args.key else "")
    b = load_tensor(args.b) if args.b else None
    result = decompose(x, series, axis, pad=args.pad, max_terms=args.max_terms)
    if b is not None:
        # Fail before printing anything if B does not fit.
        evaluate(x, result, b=b, n_terms=0)

    rows, records = [], []
    for n_terms in range(1, len(result.terms) + 1):
        metrics = evaluate(x, result, b=b, n_terms=n_terms)
        records.append({"terms": n_terms, **metrics.as_dict()})
        rows.append(
            [
                str(n_terms),
                metrics.series,
                _percent(metrics.dropped_nonzeros),
                _percent(metrics.kept_magnitude),
                _percent(metrics.relative_error),
                f"{metrics.mse:.3g}",
                _percent(metrics.relative_matmul_error),
                _percent(metrics.effective_density),
                _factor(metrics.mac_reduction_vs_dense),
                _factor(metrics.mac_reduction_vs_unstructured),
            ]
        )
    header = [
        "terms",
        "series",
        "dropped nnz %",
        "kept |x| %",
        "rel. error %",
        "MSE",
        "rel. AB error %",
        "eff. density %",
        "MAC reduction vs dense",
        "vs unstructured",
    ]
    # Write first: a bad --out fails before anything is printed.
    if args.out:
        arrays: dict[str, np.ndarray] = {"residual": _numpy_copy(result.residual)}
        for i, (term, packed) in enumerate(zip(result.terms, result.compressed, strict=True), 1):
            arrays[f"term_{i}"] = _numpy_copy(term)
            arrays[f"term_{i}_values"] = _numpy_copy(packed.values)
            arrays[f"term_{i}_indices"] = _numpy_copy(packed.indices)
        with atomic_output_dir(args.out) as scratch:
            np.savez_compressed(scratch / "decomposition.npz", **arrays)
            import pandas as pd

            pd.DataFrame.from_records(records).to_csv(scratch / "metrics.csv", index=False)
            (scratch / "series.json").write_text(
                json.dumps(
                    {
                        "series": str(series),
                        "axis": list(result.axis),
                        "padded": bool(args.pad),
                        "source": source,
                    },
                    indent=2,
                )
                + "\n"
            )
    shape = "x".join(map(str, np.shape(x))) or "scalar"
    print(
        f"{source}: {shape} {str(x.dtype).removeprefix('torch.')}, "
        f"{_percent(nonzero_density(x))}% nonzero; "
        f"series {series}, blocks along axis {args.axis}"
        + (" (padded)" if args.pad and result.layout.length % series.block_lcm else "")
    )
    if rows:
        print(format_table(rows, header))
    else:
        print("series 'none' keeps nothing: the residual is the whole tensor")

    if args.out:
        print(f"wrote {args.out}/decomposition.npz, metrics.csv, series.json")
    return 0


# --- patterns ----------------------------------------------------------------------------


def run_patterns(args: argparse.Namespace) -> int:
    from sparsim.tasd.hardware import builtin_hardware, get_hardware

    _max_terms(args.max_terms)
    designs = [get_hardware(args.hardware)] if args.hardware is not None else builtin_hardware()
    for index, hw in enumerate(designs):
        if index:
            print()
        print(
            f"{hw.ttc_name} (on {hw.name}: {hw.description}); native: "
            f"{', '.join(map(str, hw.native))}; at most {args.max_terms} terms"
        )
        rows = []
        for pattern, series in hw.pattern_table(args.max_terms).items():
            if series is None:
                rows.append([str(pattern), "not realisable", "-", "-"])
            else:
                rows.append(
                    [str(pattern), str(series), str(series.n_terms), f"{100 * series.density:.1f}"]
                )
        print(format_table(rows, ["pattern", "series", "terms", "effective density %"]))
    return 0


# --- study -------------------------------------------------------------------------------


def run_study(args: argparse.Namespace) -> int:
    from sparsim.tasd.study import StudyConfig, run_study, write_study

    check_output_dir(args.out, "--out" if not args.out.strip() else None)
    if args.size > 0:
        check_at_most(
            args.size**2, MAX_STUDY_ELEMENTS, "matrix elements (--size squared)", "--size"
        )
    config = StudyConfig(size=args.size, seeds=args.seeds)
    period = math.lcm(*(s.block_lcm for s in config.parsed_series))
    if args.size <= 0 or args.size % period:
        raise SpecError(
            f"must be a positive multiple of {period} (the largest block of the series), "
            f"got {args.size}",
            "--size",
        )
    if args.seeds < 1:
        raise SpecError(f"must be >= 1, got {args.seeds}", "--seeds")
    check_at_most(args.seeds, MAX_REPETITIONS, "random matrices per point", "--seeds")
    with atomic_output_dir(args.out) as scratch:  # fails now, not after the run, if unwritable
        result = run_study(config, progress=show_progress(args))
        paths = write_study(result, scratch)
    reference = result.reference
    rows = [
        [
            f"{row.density:g}",
            row.series,
            f"{row.reference_dropped_nonzeros_pct:.2f}",
            f"{row.dropped_nonzeros_pct:.2f}",
            f"{row.reference_kept_magnitude_pct:.2f}",
            f"{row.kept_magnitude_pct:.2f}",
            f"{row.max_abs_difference:.2f}",
        ]
        for row in reference.itertuples()
    ]
    print(
        f"{config.size}x{config.size}, N(0, 1/3) values, Bernoulli(d) mask, mean of "
        f"{config.seeds} seeds: ours vs the TASD paper"
    )
    print(
        format_table(
            rows,
            [
                "density",
                "series",
                "paper dropped nnz %",
                "ours",
                "paper kept |x| %",
                "ours",
                "max |diff|",
            ],
        )
    )
    within = int(reference["within_tolerance"].sum()) if not reference.empty else 0
    print(f"{within} of {len(reference)} reference figures within 0.5 points")
    print("wrote " + ", ".join(f"{args.out}/{p.name}" for p in paths))
    return 0
