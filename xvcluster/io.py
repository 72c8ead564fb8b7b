"""Open velocity model files, write results atomically, load saved models.

Nothing here unpickles or evaluates anything read from a file: results are plain
netCDF with their parameters as JSON text.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xarray as xr

from .axes import find_axes
from .errors import AxisError, InputError, ModelFileError, OutputExistsError
from .model import ProfileModel, model_class

__all__ = [
    "check_writable",
    "load_model",
    "open_velocity_model",
    "select_variable",
    "write_atomically",
    "write_netcdf",
]

# The first bytes of a classic netCDF-3 file (32- and 64-bit offsets).
_CLASSIC_MAGIC = (b"CDF\x01", b"CDF\x02")


def _check_classic_file_is_whole(path: Path) -> None:
    """Refuse a netCDF-3 file shorter than its header says.

    The netCDF library reads the missing end of a truncated classic file as
    zeros, without an error; scipy's reader maps the file and checks that every
    variable fits in it.
    """
    from scipy.io import netcdf_file

    # A failed read leaves scipy's half-made reader to be collected, which
    # warns that its memory map is still in use: nothing of ours holds it.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Cannot close a netcdf_file", category=RuntimeWarning
        )
        try:
            netcdf_file(path, mmap=True).close()
            return
        except (TypeError, ValueError, OSError) as error:
            reason = str(error).splitlines()[0]
    raise ModelFileError(
        f"{str(path)!r} is a damaged or truncated netCDF-3 file (its header "
        f"describes more data than the file holds: {reason}); copy or download "
        "it again."
    )


def open_velocity_model(path: str | os.PathLike, **kwargs: Any) -> xr.Dataset:
    """Open a velocity model file, refusing one that is damaged or truncated.

    Like :func:`xarray.open_dataset`, but a file that is missing, truncated or
    not netCDF gives an error naming the file instead of a library message or,
    for a truncated netCDF-3 file, silent zeros.

    Parameters
    ----------
    path : str or path-like
        A netCDF-3 or netCDF-4 file.
    **kwargs
        Passed to :func:`xarray.open_dataset`, e.g. ``chunks={}`` to open lazily.

    Returns
    -------
    xarray.Dataset
        The model, decoded as xarray does (``_FillValue`` and ``missing_value``
        become NaN).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ModelFileError
        If the file is truncated, damaged or not netCDF.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No model file at {str(path)!r}; give the path of a netCDF file."
        )
    with path.open("rb") as opened:
        magic = opened.read(4)
    if not magic:
        raise ModelFileError(
            f"{str(path)!r} is empty; copy or download the model file again."
        )
    if magic in _CLASSIC_MAGIC:
        _check_classic_file_is_whole(path)
    try:
        return xr.open_dataset(path, **kwargs)
    except (OSError, ValueError, TypeError) as error:
        reason = (str(error) or type(error).__name__).splitlines()[0].split(". ")[0]
        raise ModelFileError(
            f"Cannot read {str(path)!r} as netCDF ({reason}); the file may be "
            "damaged, truncated or in another format: give a netCDF-3 or "
            "netCDF-4 file."
        ) from None


def _has_axes(da: xr.DataArray) -> bool:
    """Whether latitude, longitude and depth axes are found on ``da``."""
    try:
        find_axes(da)
    except AxisError:
        return False
    return True


def select_variable(dataset: xr.Dataset, name: str | None = None) -> xr.DataArray:
    """Return the variable ``name`` of ``dataset``, or its only velocity model.

    Parameters
    ----------
    dataset : xarray.Dataset
        An opened model file.
    name : str, optional
        The variable to cluster. ``None`` takes the only numeric data variable
        on which latitude, longitude and depth axes are found (so cell bounds
        and 2-D maps such as a Moho depth are passed over); with several, the
        error lists them.

    Returns
    -------
    xarray.DataArray
        The chosen variable.

    Raises
    ------
    InputError
        If ``name`` is not a data variable, or ``name`` is None and the choice
        is not unique.
    """
    variables = sorted(str(var) for var in dataset.data_vars)
    if name is not None:
        if name not in dataset.data_vars:
            raise InputError(
                f"No variable {name!r} in the model; choose one of {variables!r} "
                "(--var on the command line)."
            )
        return dataset[name]

    gridded = [
        var
        for var in variables
        if dataset[var].ndim >= 2 and dataset[var].dtype.kind in "iuf"
    ]
    candidates = [var for var in gridded if _has_axes(dataset[var])] or gridded
    if len(candidates) != 1:
        raise InputError(
            f"The model has {len(candidates)} gridded variables {candidates!r} "
            f"(of {variables!r}); choose one by name (--var on the command line)."
        )
    return dataset[candidates[0]]


def check_writable(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Refuse an existing ``path`` unless ``overwrite``; return it as a Path.

    Checked before any work is done, so that a long run does not fail at its
    end for want of a place to write.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is False.
    IsADirectoryError, NotADirectoryError
        If ``path`` is a folder, or a file stands where a folder on it should.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"{str(path)!r} exists already; pass overwrite=True (--overwrite on the "
            "command line) to replace it, or choose another path."
        )
    if path.is_dir():
        raise IsADirectoryError(
            f"{str(path)!r} is a directory; give the path of a file to write."
        )
    folder = next(parent for parent in path.absolute().parents if parent.exists())
    if not folder.is_dir():
        raise NotADirectoryError(
            f"Cannot write {str(path)!r}: {str(folder)!r} is a file, not a folder; "
            "choose another path."
        )
    return path


def write_atomically(
    path: str | os.PathLike,
    write: Callable[[Path], object],
    *,
    overwrite: bool = False,
) -> Path:
    """Create ``path`` with ``write`` so that the file appears whole or not at all.

    ``write`` is called with a temporary path beside ``path`` (same suffix, so
    that writers which go by the extension pick the right format); once it
    returns, the temporary file is renamed over ``path``. An interrupted or
    failed write leaves no partial file behind.

    Parameters
    ----------
    path : str or path-like
        The file to create.
    write : callable
        Writes the content to the path it is given.
    overwrite : bool, default False
        Replace an existing file; otherwise an existing file is an error.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is False.
    """
    path = check_writable(path, overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)

    temporary = _new_temporary_file(path)
    try:
        write(temporary)
        with temporary.open("rb+") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def write_netcdf(
    dataset: xr.Dataset, path: str | os.PathLike, *, overwrite: bool = False
) -> Path:
    """Write ``dataset`` to ``path`` so that the file appears whole or not at all.

    Parameters
    ----------
    dataset : xarray.Dataset
        What to write.
    path : str or path-like
        The netCDF file to create.
    overwrite : bool, default False
        Replace an existing file; otherwise an existing file is an error.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is False.
    """
    return write_atomically(
        path,
        lambda temporary: dataset.to_netcdf(temporary, engine="netcdf4"),
        overwrite=overwrite,
    )


def _new_temporary_file(path: Path) -> Path:
    """Create a hidden, uniquely named empty file beside ``path``.

    It keeps the suffix of ``path``, so writers that go by the extension (a
    figure's format, say) write the right format.

    Unlike :func:`tempfile.mkstemp` (mode 0600), it gets the permissions of any
    new file of the user (0666 less the umask), which the result keeps.
    """
    temporary = path.with_name(f".{path.stem}.{uuid.uuid4().hex}.part{path.suffix}")
    os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    return temporary


def load_model(path: str | os.PathLike) -> ProfileModel:
    """Load a model saved with ``model.to_netcdf(path)``.

    The file is plain netCDF (labels, centres, counts, diagnostics and the
    parameters as JSON text); loading it runs no code from the file.

    Parameters
    ----------
    path : str or path-like
        A file written by :meth:`ProfileModel.to_netcdf` or ``xvcluster run``.

    Returns
    -------
    ProfileModel
        The fitted model, which predicts exactly as the saved one did.

    Raises
    ------
    ModelFileError
        If the file cannot be read or was not written by xvcluster.
    """
    with open_velocity_model(path, engine="netcdf4", mask_and_scale=False) as opened:
        dataset = opened.load()

    name = dataset.attrs.get("xvcluster_model")
    try:
        cls = model_class(str(name))
    except KeyError:
        raise ModelFileError(
            f"{str(path)!r} is not an xvcluster model file (its attrs name the model "
            f"{name!r}); write one with model.to_netcdf(path)."
        ) from None

    # Read undecoded so that labels stay int32 with -1; the fill values go back
    # to the encoding, where decoding would have put them.
    for variable in dataset.variables.values():
        if "_FillValue" in variable.attrs:
            variable.encoding["_FillValue"] = variable.attrs.pop("_FillValue")
    try:
        return cls._from_result(dataset)
    except (KeyError, ValueError, TypeError) as error:
        raise ModelFileError(
            f"{str(path)!r} names the model {name!r} but is incomplete or damaged "
            f"({type(error).__name__}: {error}); write it again with "
            "model.to_netcdf(path)."
        ) from None
