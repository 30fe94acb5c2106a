"""/admin : administrators change a user's tier (daily runs) and role, and see the site's usage, the data providers'
health and the failed runs per operation. Only listed in the navigation for admins."""

import pandas as pd
import streamlit as st

from components.discussion import reports_panel
from components.health_panel import health_panel
from components.session import current_user, get_services
from components.text import escape, escape_table
from contracts.errors import AusterError
from contracts.rules import ROLES, TIERS, daily_limit

st.title("Admin")
admin = current_user()
if admin is None or not admin.is_admin:
    st.info("This page is for administrators.")
    st.stop()

st.caption("Change an account's tier (how many runs a day it may start) or its role. Changes apply from the account's next run.")
with st.form("admin.profile_form"):
    email = st.text_input("Account email", key="admin.email", placeholder="name@example.com")
    left, right = st.columns(2)
    tier = left.selectbox("Tier", TIERS, format_func=lambda t: f"{t} ({daily_limit(t)} runs a day)", key="admin.tier")
    role = right.selectbox("Role", ROLES, key="admin.role")
    submitted = st.form_submit_button("Save", type="primary")
if submitted:
    svc = get_services()
    try:
        svc.auth.set_tier(admin, email.strip(), tier)
        user = svc.auth.set_role(admin, email.strip(), role)
    except AusterError as exc:
        st.error(escape(exc))
    else:
        st.success(escape(f"{user.email or email} is now on the {user.tier} tier ({user.daily_limit} runs a day), role {user.role}."))

st.subheader("Usage in the last 30 days")
try:
    site = get_services().analytics.site_usage(admin, 30)
except AusterError as exc:
    st.error(escape(exc))
else:
    totals = site.get("totals") or {}
    cols = st.columns(4)
    cols[0].metric("Runs", f"{int(totals.get('runs') or 0):,}")
    cols[1].metric("Served from the cache", f"{int(totals.get('cache_hits') or 0):,}")
    cols[2].metric("Failed runs", f"{int(totals.get('errors') or 0):,}")
    cols[3].metric("Active users", f"{int(totals.get('active_users') or 0):,}")
    if site.get("top_models"):
        st.markdown("**Top models**")
        top = pd.DataFrame(site["top_models"], columns=["slug", "name", "runs", "cache_hits", "errors", "user_days"])
        top = top.rename(columns={"slug": "Address", "name": "Model", "runs": "Runs", "cache_hits": "Served from the cache",
                                  "errors": "Failed runs", "user_days": "User-days"})
        st.table(escape_table(top)[0], hide_index=True)
    if site.get("top_users"):
        st.markdown("**Most active users**")
        users = pd.DataFrame(site["top_users"], columns=["name", "days", "models"])
        st.table(escape_table(users.rename(columns={"name": "User", "days": "Days with a run", "models": "Models used"}))[0], hide_index=True)

try:
    health = get_services().health.report(admin, 30)
except AusterError as exc:
    st.subheader("Data providers' health")
    st.error(escape(exc))
else:
    health_panel(health)

st.subheader("Reported comments")
reports_panel(admin)
