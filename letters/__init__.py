"""Letters to the newcomer: editable templates (HTML + CSS, texts.yaml) rendered to PDF (render.py)."""
