"""DICOM in (series discovery, checks, dcm2niix conversion) and out
(DICOM-SEG and RTSTRUCT of the predicted lesions)."""
