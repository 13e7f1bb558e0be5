"""数据上报 Upload: drop files, see a dry run per file, confirm, and keep the batch history."""

import streamlit as st

from ui import data, db, upload
from ui.auth import current_principal
from ui.components import page_header
from ui.guard import enter_page
from ui.i18n import t

selection = enter_page()

lang = selection.language
principal = current_principal()
page_header(t("page.upload", lang), selection)
refusal = upload.upload_refusal(principal, lang)
if refusal is not None:
    st.warning(refusal)
    st.stop()

st.caption(t("upload.intro", lang))
upload.show_templates(db.catalog(), lang)
for notice in st.session_state.pop(upload.RESULTS_KEY, []):
    notice.show(lang)

upload_round = st.session_state.setdefault(upload.ROUND_KEY, 0)
uploaded = st.file_uploader(
    t("upload.files", lang),
    type=upload.ACCEPTED_TYPES,
    accept_multiple_files=True,
    key=f"up_files_{upload_round}",
)
accept_valid = st.toggle(
    t("upload.accept_valid", lang), key="up_accept_valid", help=t("upload.accept_valid_help", lang)
)
files = [upload.UploadedData(file.name, file.getvalue()) for file in uploaded or []]
if files:
    reports = upload.dry_run_all(
        files,
        principal=principal,
        accept_valid=accept_valid,
        generation=data.generation(),
        language=lang,
    )
    st.subheader(t("upload.dry_run", lang))
    st.dataframe(
        upload.dry_run_table(reports, lang), key="up_dry_run", hide_index=True, width="stretch"
    )
    for index, report in enumerate(reports):
        upload.show_file_check(report, index, lang)
    ready = [
        file for file, report in zip(files, reports, strict=True) if upload.is_committable(report)
    ]
    if not ready:
        st.info(t("upload.nothing_to_commit", lang))
    if st.button(
        t("upload.confirm", lang, count=len(ready)),
        key="up_confirm",
        type="primary",
        disabled=not ready,
    ):
        results = upload.commit_all(
            ready, principal=principal, accept_valid=accept_valid, language=lang
        )
        st.session_state[upload.RESULTS_KEY] = [upload.result_notice(r) for r in results]
        st.session_state[upload.ROUND_KEY] = upload_round + 1
        st.rerun()

upload.show_history(principal, data.generation(), lang)
