"""The paper's evaluation: voxel ROC, metrics at the operating threshold,
lesion-wise detection, size analysis and subgroup statistics."""
