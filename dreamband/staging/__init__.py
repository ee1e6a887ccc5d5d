"""Sleep staging: EEG engines (rules, model) and the heart-rate stager behind one API."""
