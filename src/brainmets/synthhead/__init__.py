"""Synthetic patients drawn from real anatomy, for models meant for real scans.

The phantom (``brainmets.phantom``) is exact and analytic: it reproduces the
paper's experiment and tests the workflow, but a network trained on its
clean shapes does not recognise a real brain. This generator starts from the
MNI152 2009 tissue maps (real anatomy, shipped inside nilearn), deforms them
per patient, inserts tumours, and randomises everything a real scan varies
in: contrast per tissue and sequence, resolution and slice thickness, bias
field, noise, ghosting, skull on or off, enhancing vessels and dura (after
SynthSeg, Billot et al. MedIA 2023, and label-free tumour synthesis, Hu et
al. CVPR 2023). It writes the same files as the phantom, so the whole
workflow runs on it unchanged (``phantom.anatomy: mni152``).
"""
