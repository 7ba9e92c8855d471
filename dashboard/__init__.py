"""The engagekit dashboard (a Streamlit app), shipped with the package as ``engagekit_dashboard``."""
