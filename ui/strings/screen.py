"""UI strings for the wall screen, embedding and device tokens, in Chinese and English."""

STRINGS: dict[str, dict[str, str]] = {
    # ---- the wall screen ----
    "screen.heading": {
        "zh": "{area} · 社区治理健康指数",
        "en": "{area} · Community governance health",
    },
    "screen.period": {"zh": "统计期 {period}", "en": "Period {period}"},
    "screen.refreshed_at": {"zh": "刷新于 {time}", "en": "Refreshed {time}"},
    "screen.stale": {
        "zh": "数据未按期更新：{expected} 的数据应于 {deadline} 前报送，目前最新为 {latest}",
        "en": "Out of date: data for {expected} was due by {deadline}; the latest is {latest}",
    },
    "screen.refresh_failed": {
        "zh": "刷新失败，正在重试（显示的是 {time} 的数据）",
        "en": "Refresh failed, retrying (showing the data of {time})",
    },
    "screen.refresh_failed_empty": {
        "zh": "刷新失败，正在重试",
        "en": "Refresh failed, retrying",
    },
    "screen.view_overview": {"zh": "总体情况", "en": "Overview"},
    "screen.view_attention": {"zh": "需要关注的社区", "en": "Communities needing attention"},
    "screen.slide_position": {"zh": "{position} / {total}", "en": "{position} / {total}"},
    "screen.attention_more": {"zh": "另有 {count} 个未列出", "en": "{count} more not listed"},
    "screen.attention_none": {
        "zh": "本期没有需要关注的社区",
        "en": "No community needs attention this period",
    },
    "screen.trend_title": {
        "zh": "指数走势（近 {months} 个月）",
        "en": "Index over the last {months} months",
    },
    "screen.no_data": {"zh": "{area} 暂无评分数据", "en": "No scores for {area} yet"},
    "screen.outside_scope": {
        "zh": "此大屏令牌只能显示 {scope} 范围内的数据，不能显示 {unit}。",
        "en": "This wall-screen token covers {scope} only; it cannot show {unit}.",
    },
    "screen.bad_parameter": {
        "zh": "URL 参数 {name}={value} 无效，已改用 {fallback}",
        "en": "URL parameter {name}={value} is not valid; using {fallback}",
    },
    "screen.weekday_0": {"zh": "星期一", "en": "Monday"},
    "screen.weekday_1": {"zh": "星期二", "en": "Tuesday"},
    "screen.weekday_2": {"zh": "星期三", "en": "Wednesday"},
    "screen.weekday_3": {"zh": "星期四", "en": "Thursday"},
    "screen.weekday_4": {"zh": "星期五", "en": "Friday"},
    "screen.weekday_5": {"zh": "星期六", "en": "Saturday"},
    "screen.weekday_6": {"zh": "星期日", "en": "Sunday"},
    "screen.no_data_shown": {
        "zh": "不显示任何数据。",
        "en": "No data is shown.",
    },
    # ---- the tokens admin page ----
    "page.tokens": {"zh": "大屏令牌", "en": "Screen tokens"},
    "tokens.intro": {
        "zh": "大屏令牌让会议室或大厅的屏幕无需登录即可显示某个单位范围内的汇总数据（只读）。令牌只在生成时显示一次；数据库只保存其摘要。",
        "en": "A screen token lets a wall screen show the aggregates of one unit's area without a login (read only). The token is shown once, when it is created; the database keeps only its digest.",
    },
    "tokens.admins_only": {
        "zh": "只有管理员可以管理大屏令牌。",
        "en": "Only administrators may manage screen tokens.",
    },
    "tokens.create": {"zh": "生成新令牌", "en": "Create a token"},
    "tokens.unit": {"zh": "显示范围（单位）", "en": "Area shown (unit)"},
    "tokens.days": {"zh": "有效期（天）", "en": "Valid for (days)"},
    "tokens.label": {"zh": "备注（如放置位置）", "en": "Label (e.g. where it hangs)"},
    "tokens.submit": {"zh": "生成令牌", "en": "Create the token"},
    "tokens.created": {
        "zh": "令牌 {token_id} 已生成，有效期至 {expires}。下面的地址只显示这一次，请立即复制到大屏浏览器中。",
        "en": "Token {token_id} created, valid until {expires}. The address below is shown only this once: copy it into the screen's browser now.",
    },
    "tokens.url": {"zh": "大屏地址", "en": "Screen address"},
    "tokens.embed_url": {"zh": "嵌入地址（iframe）", "en": "Address for an iframe"},
    "tokens.list": {"zh": "已有令牌", "en": "Existing tokens"},
    "tokens.none": {"zh": "还没有令牌。", "en": "There are no tokens yet."},
    "tokens.revoke": {"zh": "撤销令牌", "en": "Revoke a token"},
    "tokens.revoke_pick": {"zh": "选择要撤销的令牌", "en": "Token to revoke"},
    "tokens.revoke_submit": {"zh": "撤销", "en": "Revoke"},
    "tokens.revoked": {
        "zh": "令牌 {token_id} 已撤销；使用它的大屏将在下次刷新时停止显示数据。",
        "en": "Token {token_id} revoked; screens using it stop showing data at their next refresh.",
    },
    "tokens.no_active": {"zh": "没有可撤销的有效令牌。", "en": "No active token to revoke."},
    "tokens.status_active": {"zh": "有效", "en": "Active"},
    "tokens.status_revoked": {"zh": "已撤销", "en": "Revoked"},
    "tokens.status_expired": {"zh": "已过期", "en": "Expired"},
    "tokens.column_id": {"zh": "编号", "en": "ID"},
    "tokens.column_label": {"zh": "备注", "en": "Label"},
    "tokens.column_unit": {"zh": "范围", "en": "Area"},
    "tokens.column_created": {"zh": "生成时间（UTC）", "en": "Created (UTC)"},
    "tokens.column_created_by": {"zh": "生成人", "en": "Created by"},
    "tokens.column_expires": {"zh": "到期时间（UTC）", "en": "Expires (UTC)"},
    "tokens.column_last_seen": {"zh": "最近使用（UTC）", "en": "Last used (UTC)"},
    "tokens.column_status": {"zh": "状态", "en": "Status"},
}
