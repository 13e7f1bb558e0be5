"""Dashboard entry point: page config, navigation and the shared sidebar."""

import streamlit as st

st.set_page_config(page_title="社区治理健康指数", layout="wide")
st.title("社区治理健康指数")
st.info("仪表盘正在建设中。")
