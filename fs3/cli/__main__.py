from fs3.cli.main import main

main()
