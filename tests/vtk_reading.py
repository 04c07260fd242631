"""VTK's own XML reader, for the tests that check written volumes (import after
``pytest.importorskip("vtk")``)."""

import vtk


def read_vti(path):
    """The image data of a .vti file, read by VTK; fails when VTK reads no points."""
    reader = vtk.vtkXMLImageDataReader()
    reader.SetFileName(str(path))
    reader.Update()
    image = reader.GetOutput()
    assert image.GetNumberOfPoints() > 0, f"VTK could not read {path}"
    return image
