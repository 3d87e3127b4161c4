# Installation and the Debian package (`cpack -G DEB` in the build folder): the binary, the shipped model,
# the systemd unit and its settings file, nothing else (no static libraries, tests or benchmarks).
# Install rules sit in the `runtime` component and CPack packages that component alone.
include(GNUInstallDirs)

# `cpack` packages what is built instead of building every target (tests included) at full parallelism
# first: build `loanrisk`, then package it.
if(NOT DEFINED CMAKE_SKIP_INSTALL_ALL_DEPENDENCY)
    set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
endif()

install(TARGETS loanrisk RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(FILES models/credit_risk_pd.json DESTINATION ${CMAKE_INSTALL_DATADIR}/loanrisk/models COMPONENT runtime)
# The package's prefix is /usr; the unit names /usr/bin/loanrisk and /usr/share/loanrisk/models.
install(FILES deploy/systemd/loanrisk.service DESTINATION lib/systemd/system COMPONENT runtime)
# A conffile (deploy/debian/conffiles); 0640 because it may hold LOANRISK_ADMIN_TOKEN. systemd reads it as root.
install(FILES deploy/systemd/loanrisk.default DESTINATION /etc/default RENAME loanrisk
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ COMPONENT runtime)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME loanrisk)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "loanrisk")
set(CPACK_PACKAGE_CONTACT "loanrisk maintainers <loanrisk@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "credit-risk scoring server: loan applications in, PD, decision and Expected Loss out")
# The summary is the synopsis line; this is the extended description under it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "loanrisk serves a logistic-regression Probability of Default model over HTTP \
(POST /predict; POST /batch_predict with JSON, NDJSON or CSV bodies; /health, /ready, /metrics) and rescores \
large portfolios from the command line (loanrisk score). The package ships the model and a hardened systemd \
unit, loanrisk.service, configured in /etc/default/loanrisk.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_CMAKE_PROJECTS "${PROJECT_BINARY_DIR};${PROJECT_NAME};runtime;/")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Runtime libraries (libsimdjson14, libssl3, libstdc++6, libgcc-s1, libc6) come from dpkg-shlibdeps
# (package dpkg-dev); without it they are listed by hand. passwd provides useradd for postinst.
find_program(LOANRISK_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(LOANRISK_DPKG_SHLIBDEPS)
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
    set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
else()
    set(CPACK_DEBIAN_PACKAGE_DEPENDS
        "libc6 (>= 2.34), libgcc-s1 (>= 3.3.1), libstdc++6 (>= 12), libsimdjson14 (>= 3.0.1), libssl3 (>= 3.0.0), passwd")
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/deploy/debian/postinst;${PROJECT_SOURCE_DIR}/deploy/debian/prerm;${PROJECT_SOURCE_DIR}/deploy/debian/postrm;${PROJECT_SOURCE_DIR}/deploy/debian/conffiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
