"""The product's face: the Streamlit app, charts, exports and the `eqdash` command line."""
