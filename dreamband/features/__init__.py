"""Per-epoch evidence (EEG, heart), vectorised over a night; causal and two-sided from one path."""
