"""What gen-ci's commands do beyond the pipeline stages: init, doctor, sync, check and pins adopt."""
