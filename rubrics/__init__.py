"""Bundled rubrics: one YAML file per rubric id, shipped inside the wheel as mlsd_grader.rubrics."""
