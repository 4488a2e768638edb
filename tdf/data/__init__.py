"""Data layer: skeleton layout, NTU reader, HDF5 store, splits, importers, synthetic data, batches."""
