"""Enrollment, contributions and personal accounts (参保登记、缴费与个人账户)."""
