"""The Streamlit chat page and its helpers."""
