"""`python -m models.bench` = `python -m models.swiftvr.bench`."""
from models.swiftvr.bench import main, parse_args

if __name__ == "__main__":
    main(parse_args())
