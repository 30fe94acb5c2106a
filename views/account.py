"""/account : sign in, sign up or continue as a guest; tier and today's remaining runs; password and sign-out."""

import streamlit as st

from components import session
from components.session import current_user, display_name, get_services
from components.text import escape
from contracts.errors import AusterError, InputInvalid

st.title("Account")
svc = get_services()
user = current_user()

if user is not None:
    st.markdown(f"Signed in as **{escape(display_name(user))}**" + (f" ({escape(user.email)})" if user.email else ""))
    try:
        remaining = svc.runs.remaining_today(user)
    except AusterError as exc:
        remaining = None
        st.error(escape(exc))
    left, right = st.columns(2)
    left.metric("Tier", "guest" if user.is_guest else user.tier)
    right.metric("Runs left today", "n/a" if remaining is None else f"{remaining} of {user.daily_limit}")
    if user.is_guest:
        st.info("You are a guest: sign up below to keep your work under an account and get more runs a day.")
    elif not user.is_admin:
        st.caption("Tiers are changed by an administrator, on the Admin page.")
    out, everywhere = st.columns(2)
    if out.button("Sign out", key="account.sign_out", help="Sign out in this browser; your other devices stay signed in."):
        try:
            session.sign_out()
        except AusterError as exc:
            st.error(escape(exc))
        st.rerun()
    if not user.is_guest and everywhere.button("Sign out everywhere", key="account.sign_out_everywhere", help="End every session of yours, on every device."):
        try:
            session.sign_out(everywhere=True)
        except AusterError as exc:
            st.session_state[session.NOTICE_KEY] = str(exc)
        st.rerun()
    if not user.is_guest:
        with st.expander("Change password"), st.form("account.password_form", clear_on_submit=True):
            current = st.text_input("Current password", type="password", key="account.password.current")
            new = st.text_input("New password", type="password", key="account.password.new", help="At least 8 characters.")
            if st.form_submit_button("Change password"):
                try:
                    svc.auth.change_password(user, current, new, token=st.session_state.get(session.TOKEN_KEY))
                    st.success("Password changed; your other devices are signed out.")
                except InputInvalid as exc:
                    st.error(escape(" ".join(exc.fields.values())))
                except AusterError as exc:
                    st.error(escape(exc))
        st.stop()

sign_in, sign_up = st.tabs(["Sign in", "Sign up"])
with sign_in, st.form("account.sign_in_form"):
    email = st.text_input("Email", key="account.sign_in.email")
    password = st.text_input("Password", type="password", key="account.sign_in.password")
    if st.form_submit_button("Sign in", type="primary"):
        try:
            session.sign_in(email.strip(), password)
            st.rerun()
        except AusterError as exc:
            st.error(escape(exc))
with sign_up, st.form("account.sign_up_form"):
    name = st.text_input("Display name", key="account.sign_up.name", max_chars=60)
    new_email = st.text_input("Email", key="account.sign_up.email")
    new_password = st.text_input("Password", type="password", key="account.sign_up.password", help="At least 8 characters.")
    if st.form_submit_button("Create account", type="primary"):
        try:
            session.sign_up(new_email.strip(), new_password, display_name=name.strip() or None)
            st.rerun()
        except AusterError as exc:
            st.error(escape(exc))
if user is None and st.button("Continue as guest", key="account.guest", icon=":material/person_outline:"):
    try:
        session.start_guest()
        st.rerun()
    except AusterError as exc:
        st.error(escape(exc))
