"""canvass: an open-source canvassing and volunteer toolkit."""
