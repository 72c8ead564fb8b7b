"""Write results atomically and load saved models back, without pickle."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import xarray as xr

from .errors import ModelFileError, OutputExistsError
from .model import ProfileModel, model_class

__all__ = ["check_writable", "load_model", "write_atomically", "write_netcdf"]


def check_writable(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Refuse an existing ``path`` unless ``overwrite``; return it as a Path.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is False.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"{str(path)!r} exists already; pass overwrite=True (--overwrite on the "
            "command line) to replace it, or choose another path."
        )
    return path


def _current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


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

    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent
    )
    os.close(handle)
    try:
        write(Path(temporary))
        # mkstemp makes the file private; give it the permissions of a new file.
        os.chmod(temporary, 0o666 & ~_current_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
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
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {str(path)!r}.")
    try:
        with xr.open_dataset(path, engine="netcdf4", mask_and_scale=False) as opened:
            dataset = opened.load()
    except (OSError, ValueError) as error:
        raise ModelFileError(
            f"Cannot read {str(path)!r} as netCDF ({error}); is it a complete file "
            "written by xvcluster?"
        ) from None

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
