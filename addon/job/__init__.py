"""The headless main job (`run_job`) and its command line (`cli`), on top of the session layer."""
