"""Reports people read: the self-contained HTML report and the synthetic-study demo that writes one."""
