"""Building blocks the models share: the ST-transformer, quantisers, patches, MaskGIT decoding, camera motion, metrics."""
