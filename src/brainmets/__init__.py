"""Detection and segmentation of brain metastases on multisequence MRI.

A reproduction of Grovik et al., "Deep Learning Enables Automatic Detection
and Segmentation of Brain Metastases on Multisequence MRI" (JMRI 2020).
"""

__version__ = "0.1.0"
