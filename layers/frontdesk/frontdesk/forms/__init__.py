"""Website support forms: decoding and validating posts, and the pages a browser sees."""
