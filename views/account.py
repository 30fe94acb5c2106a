"""/account : sign in, sign up or continue as a guest; tier and today's remaining runs."""

import streamlit as st

from components.session import current_user, display_name, get_services, set_user, sign_out
from components.text import escape
from contracts.errors import AusterError

st.title("Account")
svc = get_services()
user = current_user()

if user is not None:
    email = f" (`{user.email.replace('`', '')}`)" if user.email else ""
    st.markdown(f"Signed in as **{escape(display_name(user))}**{email}")
    try:
        remaining = svc.runs.remaining_today(user)
    except AusterError as exc:
        remaining = None
        st.error(str(exc))
    left, right = st.columns(2)
    left.metric("Tier", user.tier)
    right.metric("Runs left today", "n/a" if remaining is None else f"{remaining} of {user.daily_limit}")
    if user.is_guest:
        st.info("You are a guest: sign up below to keep your work under an account.")
    elif not user.is_admin:
        st.caption("Tiers are changed by an administrator, on the Admin page.")
    if st.button("Sign out", key="account.sign_out", help="Also clears every result shown in this browser tab."):
        sign_out()
        st.rerun()
    if not user.is_guest:
        st.stop()

sign_in, sign_up = st.tabs(["Sign in", "Sign up"])
with sign_in, st.form("account.sign_in_form"):
    email = st.text_input("Email", key="account.sign_in.email")
    password = st.text_input("Password", type="password", key="account.sign_in.password")
    if st.form_submit_button("Sign in", type="primary"):
        try:
            set_user(svc.auth.sign_in(email.strip(), password))
            st.rerun()
        except AusterError as exc:
            st.error(str(exc))
with sign_up, st.form("account.sign_up_form"):
    name = st.text_input("Display name", key="account.sign_up.name", max_chars=60)
    new_email = st.text_input("Email", key="account.sign_up.email")
    new_password = st.text_input("Password", type="password", key="account.sign_up.password", help="At least 8 characters.")
    if st.form_submit_button("Create account", type="primary"):
        try:
            set_user(svc.auth.sign_up(new_email.strip(), new_password, display_name=name.strip() or None))
            st.rerun()
        except AusterError as exc:
            st.error(str(exc))
if user is None and st.button("Continue as guest", key="account.guest", icon=":material/person_outline:"):
    try:
        set_user(svc.auth.guest())
        st.rerun()
    except AusterError as exc:
        st.error(str(exc))
