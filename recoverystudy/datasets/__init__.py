"""Small example data sets bundled with recoverystudy (made up; no real person is described)."""
