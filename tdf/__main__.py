from tdf.cli import main

main()
